//! After a restart: every container containerd knows comes back with its status; a running one
//! is resynced by `crate::task_events`, so one that exited while cricket was down gets its real exit code; one whose
//! CreateContainer was interrupted (no status file) is removed.

use std::sync::Arc;

use base64::Engine;
use k8s_cri::v1::ContainerConfig;
use prost::Message;

use super::persist;
use crate::context::Context;
use crate::labels;
use crate::store::containers::{name_key, Container};

pub async fn recover(ctx: &Arc<Context>) -> containerd_bridge::Result<usize> {
    let records = ctx.containerd.list_containers(vec![super::container_filter()]).await?;
    let mut count = 0;
    for record in records {
        let Some(meta) = record.extensions.get(labels::METADATA_EXTENSION).and_then(persist::decode_metadata) else { continue };
        let Some(status) = persist::load_status(ctx, &meta.id) else {
            let _ = ctx.containerd.delete_container(&meta.id).await;
            let _ = ctx.containerd.remove_snapshot(&meta.id).await;
            let _ = persist::remove_dirs(ctx, &meta.id);
            continue;
        };
        let config = base64::engine::general_purpose::STANDARD.decode(&meta.config).ok().and_then(|b| ContainerConfig::decode(b.as_slice()).ok()).unwrap_or_default();
        let _ = ctx.containers.reserve_name(&name_key(&meta.sandbox_id, &meta.name, meta.attempt), &meta.id);
        ctx.containers.insert(Container { meta, config: Arc::new(config), status });
        count += 1;
    }
    Ok(count)
}
