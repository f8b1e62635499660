//! One subscription to containerd's events for the whole daemon: exits and OOM kills of
//! containers and pause tasks, and image records changed by other clients. Each time it
//! (re)subscribes — at start and after containerd comes back — it resyncs every running
//! container and pause with its task, so an exit that happened while nobody listened is
//! recorded too (the image store is reloaded on reconnection by `crate::adapters::containerd_monitor`).

use std::sync::Arc;
use std::time::Duration;

use containerd_bridge::Event;

use crate::container::exits;
use crate::context::Context;
use crate::store::containers::ContainerState;
use crate::store::sandboxes::SandboxState;

const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LAST: Duration = Duration::from_secs(2);

/// Starts the monitor; call once the stores are recovered.
pub fn spawn(ctx: Arc<Context>) {
    tokio::spawn(run(ctx));
}

async fn run(ctx: Arc<Context>) {
    let mut retry = RETRY_FIRST;
    loop {
        match ctx.containerd.subscribe_events().await {
            Ok(mut events) => {
                retry = RETRY_FIRST;
                // After subscribing, so that an exit is either in the stream or seen here.
                resync(&ctx).await;
                loop {
                    match events.next().await {
                        Ok(Some(event)) => dispatch(&ctx, event),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "containerd events stream broke; resubscribing");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot subscribe to containerd events yet"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_LAST);
    }
}

fn dispatch(ctx: &Arc<Context>, event: Event) {
    match event {
        Event::Exit { container_id, exec_id, code, exited_at_ns, .. }
            if exec_id == container_id =>
        {
            let ctx = ctx.clone();
            // Off the stream's task: an exit waits out a start in flight and deletes the task.
            tokio::spawn(async move {
                if ctx.containers.get(&container_id).is_some() {
                    exits::container_exited(&ctx, &container_id, code, exited_at_ns).await;
                } else {
                    pause_exited(&ctx, &container_id).await;
                }
            });
        }
        // Exec processes are waited for by whoever started them.
        Event::Exit { .. } => {}
        Event::Oom { container_id } => {
            tracing::info!(container = %container_id, "OOM kill");
            let ctx = ctx.clone();
            // Off the stream's task too: a process that is killed as it starts has its OOM
            // kill reported before StartContainer has recorded the start.
            tokio::spawn(async move {
                exits::settled_state(&ctx, &container_id).await;
                exits::record_oom(&ctx, &container_id);
            });
        }
        Event::ImageChanged { name, created } => {
            let ctx = ctx.clone();
            tokio::spawn(async move { crate::image::record_changed(&ctx, &name, created).await });
        }
        Event::ImageDeleted { name } => crate::image::record_deleted(ctx, &name),
    }
}

/// A pod's pause task exited (killed, or StopPodSandbox under way): the pod is NotReady, so
/// kubelet recreates it; the task goes.
async fn pause_exited(ctx: &Context, id: &str) {
    let Some(sandbox) = ctx.sandboxes.get(id) else { return };
    if !sandbox.meta.pause {
        return;
    }
    if let Err(e) = ctx.lifecycle.delete_task(id).await {
        tracing::warn!(pod = %id, error = %e, "could not delete the exited pause task");
    }
    let status = ctx.sandboxes.modify(id, |s| {
        (s.status.state == SandboxState::Ready).then(|| {
            s.status.state = SandboxState::NotReady;
            s.status.pid = 0;
            s.status.clone()
        })
    });
    if let Some(status) = status.flatten() {
        tracing::warn!(pod = %id, "the pod's pause task exited; the pod is not ready");
        crate::cri_events::emit(
            ctx,
            id,
            id,
            crate::api::v1::ContainerEventType::ContainerStoppedEvent,
        );
        if let Err(e) = crate::sandbox::persist::save_status(ctx, id, &status) {
            tracing::error!(pod = %id, error = %e, "could not persist the pod's status");
        }
    }
}

/// Compares every running container and ready pause with its task.
async fn resync(ctx: &Arc<Context>) {
    for c in ctx.containers.list().into_iter().filter(|c| c.status.state == ContainerState::Running)
    {
        exits::reconcile(ctx, &c.meta.id).await;
    }
    for s in ctx
        .sandboxes
        .list()
        .into_iter()
        .filter(|s| s.meta.pause && s.status.state == SandboxState::Ready)
    {
        if let Ok(None | Some((_, false))) = ctx.lifecycle.task_status(&s.meta.id).await {
            pause_exited(ctx, &s.meta.id).await;
        }
    }
}
