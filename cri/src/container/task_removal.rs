//! Removing a task whatever the store says of it: one left by a cut-off start, or one still
//! running that was recorded as exited, is killed and waited for before it is deleted.

use std::time::Duration;

use containerd_bridge::{BridgeError, TaskState};

use crate::context::Context;

/// Kills the task if it has not stopped, and deletes it (its shim goes once the pod's last
/// task has). The exit handler may delete the same task meanwhile, and its going shim then
/// answers "ttrpc: closed": that is done, not a failure, once containerd no longer has the
/// task. Other errors are retried for a few seconds.
pub(crate) async fn remove_task(ctx: &Context, id: &str) -> Result<(), BridgeError> {
    let c = &ctx.lifecycle;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let attempt = async {
            let Some((_, state)) = c.task_state(id).await? else { return Ok(()) };
            if state != TaskState::Stopped {
                c.kill_task(id, libc::SIGKILL as u32, true).await?;
                let _ = tokio::time::timeout(Duration::from_secs(10), c.wait_task(id)).await;
            }
            let _turn = crate::shim_turns::take(ctx, id).await;
            c.delete_task(id).await.map(|_| ())
        };
        let error = match attempt.await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if matches!(c.task_state(id).await, Ok(None)) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(error);
        }
        tracing::debug!(id, error = %error, "removing the task failed; trying again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
