//! After a restart: every container containerd knows comes back with its status; a running one
//! is resynced by `crate::containerd_events`, so one that exited while cricket was down gets its real exit code; one whose
//! CreateContainer was interrupted (no status file) is removed.

use std::sync::Arc;

use base64::Engine;
use k8s_cri::v1::ContainerConfig;
use prost::Message;

use super::persist;
use crate::context::Context;
use crate::labels;
use crate::store::containers::{name_key, Container, ContainerState, ContainerStatus};

pub async fn recover(ctx: &Arc<Context>) -> containerd_bridge::Result<usize> {
    let records = ctx.containerd.list_containers(vec![super::container_filter()]).await?;
    let mut count = 0;
    for record in records {
        let Some(meta) = record.extensions.get(labels::METADATA_EXTENSION).and_then(persist::decode_metadata) else { continue };
        let Some(mut status) = persist::load_status(ctx, &meta.id) else {
            let _ = ctx.containerd.delete_container(&meta.id).await;
            let _ = ctx.containerd.remove_snapshot(&meta.id).await;
            let _ = persist::remove_dirs(ctx, &meta.id);
            continue;
        };
        if status.state == ContainerState::Created {
            adopt_started_task(ctx, &meta.id, meta.created_at_ns, &mut status).await?;
        }
        let config = base64::engine::general_purpose::STANDARD.decode(&meta.config).ok().and_then(|b| ContainerConfig::decode(b.as_slice()).ok()).unwrap_or_default();
        let _ = ctx.containers.reserve_name(&name_key(&meta.sandbox_id, &meta.name, meta.attempt), &meta.id);
        ctx.containers.insert(Container { meta, config: Arc::new(config), status });
        count += 1;
    }
    sweep_orphan_dirs(ctx);
    Ok(count)
}

/// Directories of containers containerd no longer knows (a RemoveContainer interrupted
/// after the record went) are removed.
fn sweep_orphan_dirs(ctx: &Context) {
    let parents = [ctx.config.root_dir.join("containers"), ctx.config.state_dir.join("containers")];
    for entry in parents.iter().filter_map(|p| std::fs::read_dir(p).ok()).flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !ctx.containers.contains(&name) {
            tracing::info!(container = %name, "removing the files of a container containerd does not know");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// cricket was killed between a task's start and the record of it: the task is there, so the
/// container counts as started (when exactly is lost; its creation time stands in). A task
/// that already exited is then recorded by the resync.
async fn adopt_started_task(ctx: &Context, id: &str, created_at_ns: i64, status: &mut ContainerStatus) -> containerd_bridge::Result<()> {
    if let Some((pid, _)) = ctx.containerd.task_status(id).await? {
        status.state = ContainerState::Running;
        status.pid = pid;
        status.started_at_ns = created_at_ns;
        if let Err(e) = persist::save_status(ctx, id, status) {
            tracing::error!(container = %id, error = %e, "could not persist a container's status");
        }
        tracing::warn!(container = %id, pid, "adopted a task started just before cricket stopped");
    }
    Ok(())
}
