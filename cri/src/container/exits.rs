//! Exit tracking: a watcher per running container waits for its task, deletes it (so the shim
//! can go once the pod is empty) and records the exit: code, time and reason.

use std::sync::Arc;

use super::persist;
use crate::context::Context;
use crate::store::containers::ContainerState;

/// The CRI reason for an exit.
pub fn reason(code: i32, oom: bool) -> &'static str {
    match (oom, code) {
        (true, _) => "OOMKilled",
        (false, 0) => "Completed",
        _ => "Error",
    }
}

/// Records an exit in the store and on disk.
pub fn record(ctx: &Context, id: &str, code: i32, at_ns: i64, reason: &str, message: &str) {
    let status = ctx.containers.update(id, |s| {
        s.state = ContainerState::Exited;
        s.pid = 0;
        s.exit_code = code;
        s.finished_at_ns = at_ns;
        s.reason = reason.to_string();
        s.message = message.to_string();
    });
    if let Some(status) = status {
        if let Err(e) = persist::save_status(ctx, id, &status) {
            tracing::error!(container = %id, error = %e, "could not persist an exit");
        }
    }
}

/// Waits for the task of `id` in the background and records its exit.
pub fn watch(ctx: Arc<Context>, id: String) {
    tokio::spawn(async move {
        let exit = loop {
            match ctx.containerd.wait_task(&id).await {
                Ok(exit) => break exit,
                // Gone without a recorded exit (cricket was killed between the exit and its
                // record): the code is lost, as docs/state.md says.
                Err(e) if e.is_not_found() => {
                    if ctx.containers.get(&id).is_some_and(|c| c.status.state == ContainerState::Running) {
                        record(&ctx, &id, 255, super::now_ns(), "Unknown", "the task was gone after a restart");
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(container = %id, error = %e, "waiting for the task failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        };
        let _ = ctx.containerd.delete_task(&id).await;
        let code = exit.code as i32;
        // OOM detection (containerd's /tasks/oom events) is not wired yet: such exits read Error.
        record(&ctx, &id, code, exit.exited_at_ns, reason(code, false), "");
        tracing::info!(container = %id, code, "container exited");
    });
}
