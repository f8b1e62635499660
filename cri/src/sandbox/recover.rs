//! After a restart: every sandbox containerd knows comes back into the store with its status;
//! one whose RunPodSandbox was interrupted (no status file) is undone.

use std::sync::Arc;

use base64::Engine;
use k8s_cri::v1::PodSandboxConfig;
use prost::Message;

use super::network::{detach, runtime_conf};
use super::persist;
use crate::context::Context;
use crate::labels;
use crate::store::sandboxes::{name_key, Sandbox, SandboxState};

/// Loads every sandbox; returns how many came back.
pub async fn recover(ctx: &Context) -> containerd_bridge::Result<usize> {
    let containers = ctx.containerd.list_containers(vec![super::sandbox_filter()]).await?;
    let mut count = 0;
    for container in containers {
        let Some(meta) = container.extensions.get(labels::METADATA_EXTENSION).and_then(persist::decode_metadata) else { continue };
        let config = base64::engine::general_purpose::STANDARD
            .decode(&meta.config)
            .ok()
            .and_then(|b| PodSandboxConfig::decode(b.as_slice()).ok())
            .unwrap_or_default();
        let Some(mut status) = persist::load_status(ctx, &meta.id) else {
            undo_interrupted(ctx, &meta.id, &meta.netns, &config).await;
            continue;
        };
        let running = matches!(ctx.containerd.task_status(&meta.id).await?, Some((_, true)));
        if status.state == SandboxState::Ready && !running {
            status.state = SandboxState::NotReady;
        }
        let key = name_key(&meta.name, &meta.namespace, &meta.uid, meta.attempt);
        let _ = ctx.sandboxes.reserve_name(&key, &meta.id);
        ctx.sandboxes.insert(Sandbox { meta, config: Arc::new(config), status });
        count += 1;
    }
    Ok(count)
}

/// A sandbox cricket died creating: remove what exists of it, as a failed Run would have.
async fn undo_interrupted(ctx: &Context, id: &str, netns: &str, config: &PodSandboxConfig) {
    tracing::info!(pod = %id, "undoing a RunPodSandbox interrupted by a restart");
    let c = &ctx.containerd;
    let _ = c.kill_task(id, libc::SIGKILL as u32, true).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), c.wait_task(id)).await;
    let _ = c.delete_task(id).await;
    let _ = c.delete_container(id).await;
    let _ = c.remove_snapshot(id).await;
    // The CNI cache says whether (and on which network) the ADD got through.
    for cached in ctx.cni.cache().list().into_iter().filter(|a| a.container_id == id) {
        let rc = runtime_conf(id, netns, config);
        if let Err(e) = detach(ctx, &cached.network_name, &rc).await {
            tracing::warn!(pod = %id, error = %e, "CNI DEL of an interrupted sandbox failed");
        }
    }
    if !netns.is_empty() {
        let _ = ctx.netns.remove(netns.as_ref());
    }
    let _ = std::fs::remove_dir_all(persist::dir(ctx, id));
}
