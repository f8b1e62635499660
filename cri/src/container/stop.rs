//! StopContainer: the stop signal (config, else image, else SIGTERM), then SIGKILL after the
//! timeout; returns once the exit is recorded. Stopping a stopped container succeeds.

use std::time::Duration;

use k8s_cri::v1::{StopContainerRequest, StopContainerResponse};
use tonic::Status;

use crate::context::Context;
use crate::errors::from_bridge;
use crate::spec::ImageProcess;
use crate::store::containers::{Container, ContainerState};

fn signal_number(name: &str) -> Option<i32> {
    let bare = name.trim().to_ascii_uppercase();
    let bare = bare.strip_prefix("SIG").unwrap_or(&bare);
    if let Ok(n) = bare.parse() {
        return Some(n);
    }
    Some(match bare {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "WINCH" => libc::SIGWINCH,
        "STOP" => libc::SIGSTOP,
        _ => return None,
    })
}

fn stop_signal(ctx: &Context, c: &Container) -> i32 {
    let image_signal = ctx
        .images
        .resolve(&c.meta.image_id)
        .map(|i| ImageProcess::from_config(&i.config).stop_signal)
        .unwrap_or_default();
    signal_number(&image_signal).unwrap_or(libc::SIGTERM)
}

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
async fn signal(ctx: &Context, id: &str, signal: i32, all: bool) -> Result<(), Status> {
    match ctx.containerd.kill_task(id, signal as u32, all).await {
        Ok(()) => Ok(()),
        Err(_) if exited(ctx, id, Duration::from_secs(2)).await => Ok(()),
        Err(e) => Err(from_bridge(if signal == libc::SIGKILL { "kill" } else { "signal" }, e)),
    }
}

/// Stops one container; `timeout` 0 kills at once.
pub(crate) async fn stop(ctx: &Context, c: &Container, timeout: Duration) -> Result<(), Status> {
    let id = &c.meta.id;
    if c.status.state != ContainerState::Running {
        return Ok(());
    }
    if !timeout.is_zero() {
        signal(ctx, id, stop_signal(ctx, c), false).await?;
        if exited(ctx, id, timeout).await {
            return Ok(());
        }
        super::exits::reconcile(ctx, id).await;
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
    Err(Status::deadline_exceeded(format!("container {id} did not exit after SIGKILL")))
}

/// A container the runtime does not know is stopped: the CRI makes Stop idempotent.
pub(crate) async fn stop_container(
    ctx: &Context,
    req: StopContainerRequest,
) -> Result<StopContainerResponse, Status> {
    let Some(c) = ctx.containers.get(&req.container_id) else {
        tracing::debug!(container = %req.container_id, "StopContainer of an unknown container: nothing to stop");
        return Ok(StopContainerResponse {});
    };
    stop(ctx, &c, Duration::from_secs(req.timeout.max(0) as u64)).await?;
    tracing::info!(pod = %c.meta.sandbox_id, container = %c.meta.id, "container stopped");
    Ok(StopContainerResponse {})
}

/// Kills every running container of a pod (StopPodSandbox).
pub(crate) async fn stop_containers_of(ctx: &Context, sandbox_id: &str) -> Result<(), Status> {
    for c in ctx.containers.in_sandbox(sandbox_id) {
        stop(ctx, &c, Duration::ZERO).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(signal_number("SIGQUIT"), Some(libc::SIGQUIT));
        assert_eq!(signal_number("term"), Some(libc::SIGTERM));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number(""), None);
    }
}
