//! StopContainer: the stop signal (config, else image, else SIGTERM), then SIGKILL after the
//! timeout; returns once the exit is recorded. Stopping a stopped container succeeds.

use std::time::Duration;

use crate::api::v1::{StopContainerRequest, StopContainerResponse};
use crate::error::Error;

use crate::context::Context;
use crate::error::from_bridge;
use crate::store::containers::{Container, ContainerState};

async fn exited(ctx: &Context, id: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if ctx.containers.get(id).is_none_or(|c| c.status.state != ContainerState::Running) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signals the task. A task that exits on its own meanwhile is deleted by the exit
/// handler, and its shim then answers "ttrpc: closed": that is no failure once the
/// exit is recorded.
async fn signal(ctx: &Context, id: &str, signal: i32, all: bool) -> Result<(), Error> {
    match ctx.lifecycle.kill_task(id, signal as u32, all).await {
        Ok(()) => Ok(()),
        Err(_) if exited(ctx, id, Duration::from_secs(2)).await => Ok(()),
        Err(e) => Err(from_bridge(if signal == libc::SIGKILL { "kill" } else { "signal" }, e)),
    }
}

/// Stops one container; `timeout` 0 kills at once.
pub(crate) async fn stop(ctx: &Context, c: &Container, timeout: Duration) -> Result<(), Error> {
    let id = &c.meta.id;
    if c.status.state != ContainerState::Running {
        return Ok(());
    }
    if !timeout.is_zero() {
        signal(ctx, id, super::stop_signal::effective(ctx, c), false).await?;
        if exited(ctx, id, timeout).await {
            return Ok(());
        }
        // An exit whose event was lost is found here, and gets no SIGKILL.
        super::exits::reconcile(ctx, id).await;
        if exited(ctx, id, Duration::ZERO).await {
            return Ok(());
        }
    }
    signal(ctx, id, libc::SIGKILL, true).await?;
    // The exit event may never come (lost while the stream was down, or the task was already
    // gone): between waits, ask containerd for the task's real state.
    for _ in 0..30 {
        if exited(ctx, id, Duration::from_secs(1)).await {
            return Ok(());
        }
        super::exits::reconcile(ctx, id).await;
    }
    Err(Error::deadline_exceeded(format!("container {id} did not exit after SIGKILL")))
}

/// A container the runtime does not know is stopped: the CRI makes Stop idempotent.
pub(crate) async fn stop_container(
    ctx: &Context,
    req: StopContainerRequest,
) -> Result<StopContainerResponse, Error> {
    let Some(c) = ctx.containers.get(&req.container_id) else {
        tracing::debug!(container = %req.container_id, "StopContainer of an unknown container: nothing to stop");
        return Ok(StopContainerResponse {});
    };
    stop(ctx, &c, Duration::from_secs(req.timeout.max(0) as u64)).await?;
    tracing::info!(pod = %c.meta.sandbox_id, container = %c.meta.id, "container stopped");
    Ok(StopContainerResponse {})
}

/// Kills every running container of a pod (StopPodSandbox).
pub(crate) async fn stop_containers_of(ctx: &Context, sandbox_id: &str) -> Result<(), Error> {
    for c in ctx.containers.in_sandbox(sandbox_id) {
        stop(ctx, &c, Duration::ZERO).await?;
    }
    Ok(())
}
