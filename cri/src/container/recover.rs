//! After a restart: every container containerd knows comes back with its status; a running one
//! is resynced by `crate::adapters::containerd_event_loop`, so one that exited while cricket was down gets
//! its real exit code; one whose CreateContainer was interrupted (no status file) is removed;
//! one whose StartContainer was interrupted is settled by its task's real state.

use std::sync::Arc;

use crate::api::v1::ContainerConfig;
use base64::Engine;
use prost::Message;

use super::persist;
use crate::context::Context;
use crate::labels;
use containerd_bridge::TaskState;

use crate::store::containers::{name_key, Container, ContainerState, ContainerStatus};

pub async fn recover(ctx: &Arc<Context>) -> containerd_bridge::Result<usize> {
    let records = ctx.lifecycle.list_containers(vec![super::container_filter()]).await?;
    let mut count = 0;
    for record in records {
        let Some(meta) =
            record.extensions.get(labels::METADATA_EXTENSION).and_then(persist::decode_metadata)
        else {
            continue;
        };
        let Some(mut status) = persist::load_status(ctx, &meta.id) else {
            crate::janitor::remove_or_leave(ctx, &meta.id).await;
            let _ = persist::remove_dirs(ctx, &meta.id);
            continue;
        };
        if status.state == ContainerState::Created {
            settle_cut_off_start(ctx, &meta.id, meta.created_at_ns, &mut status).await?;
        }
        let config = base64::engine::general_purpose::STANDARD
            .decode(&meta.config)
            .ok()
            .and_then(|b| ContainerConfig::decode(b.as_slice()).ok())
            .unwrap_or_default();
        let _ = ctx
            .containers
            .reserve_name(&name_key(&meta.sandbox_id, &meta.name, meta.attempt), &meta.id);
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
            let _ = crate::sys::blocking::run(|| {
                super::image_volumes::unmount_all(&entry.path());
                std::fs::remove_dir_all(entry.path())
            });
        }
    }
}

/// A container recorded as created may have a task: cricket was killed inside StartContainer.
/// A task that never started is deleted, so that kubelet's retry of StartContainer makes it
/// anew, and the container stays created. One that started is adopted as running (its
/// creation time stands in for the start time, which was lost); if it has exited since, the
/// resync records its exit.
async fn settle_cut_off_start(
    ctx: &Context,
    id: &str,
    created_at_ns: i64,
    status: &mut ContainerStatus,
) -> containerd_bridge::Result<()> {
    match ctx.lifecycle.task_state(id).await? {
        None => {}
        Some((_, TaskState::Created | TaskState::Unknown)) => {
            let c = &ctx.lifecycle;
            c.kill_task(id, libc::SIGKILL as u32, true).await?;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), c.wait_task(id)).await;
            let turn = crate::shim_turns::take(ctx, id).await;
            c.delete_task(id).await?;
            drop(turn);
            tracing::warn!(container = %id, "deleted the task of a StartContainer cut off before the start; the container stays created");
        }
        Some((pid, _)) => {
            status.state = ContainerState::Running;
            status.pid = pid;
            status.started_at_ns = created_at_ns;
            if let Err(e) = persist::save_status(ctx, id, status) {
                tracing::error!(container = %id, error = %e, "could not persist a container's status");
            }
            tracing::warn!(container = %id, pid, "adopted a task started just before cricket stopped");
        }
    }
    Ok(())
}
