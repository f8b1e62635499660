//! Recording exits: code, time and reason, once, in the store and on disk. The task events
//! monitor (`crate::adapters::containerd_event_loop`) calls in here for every exit and OOM kill it learns of.

use std::time::Duration;

use containerd_bridge::TaskState;

use crate::api::v1::ContainerEventType;

use super::persist;
use crate::context::Context;
use crate::store::containers::{ContainerState, ContainerStatus};

pub const OOM_KILLED: &str = "OOMKilled";

/// The CRI reason for an exit.
pub fn reason(code: i32, oom: bool) -> &'static str {
    match (oom, code) {
        (true, _) => OOM_KILLED,
        (false, 0) => "Completed",
        _ => "Error",
    }
}

fn save(ctx: &Context, id: &str, status: Option<ContainerStatus>) {
    if let Some(status) = status {
        if let Err(e) = persist::save_status(ctx, id, &status) {
            tracing::error!(container = %id, error = %e, "could not persist a container's status");
        }
    }
}

/// Records an exit whatever the state (a failed start).
pub fn record(ctx: &Context, id: &str, code: i32, at_ns: i64, reason: &str, message: &str) {
    let status = ctx.containers.update(id, |s| {
        s.state = ContainerState::Exited;
        s.pid = 0;
        s.exit_code = code;
        s.finished_at_ns = at_ns;
        s.reason = reason.to_string();
        s.message = message.to_string();
    });
    save(ctx, id, status);
    stopped(ctx, id);
}

fn stopped(ctx: &Context, id: &str) {
    crate::cri_events::emit_for_container(ctx, id, ContainerEventType::ContainerStoppedEvent);
}

/// Records the exit of a running container; an OOM kill seen before keeps its reason. Says
/// whether this call recorded it (an event and a resync may both report one exit).
pub fn record_if_running(ctx: &Context, id: &str, code: i32, at_ns: i64) -> bool {
    finish_running(ctx, id, code, at_ns, |oom| reason(code, oom), "")
}

/// Records that a running container's task vanished with its exit code (cricket was killed
/// between the exit and its record, and containerd restarted since): 255, Unknown.
pub fn record_lost(ctx: &Context, id: &str) -> bool {
    finish_running(
        ctx,
        id,
        255,
        crate::sys::clock::now_ns(),
        |_| "Unknown",
        "the task was gone after a restart",
    )
}

fn finish_running(
    ctx: &Context,
    id: &str,
    code: i32,
    at_ns: i64,
    reason: impl FnOnce(bool) -> &'static str,
    message: &str,
) -> bool {
    let status = ctx.containers.modify(id, |c| {
        let s = &mut c.status;
        if s.state != ContainerState::Running {
            return None;
        }
        let oom = s.reason == OOM_KILLED;
        s.state = ContainerState::Exited;
        s.pid = 0;
        s.exit_code = code;
        s.finished_at_ns = at_ns;
        s.reason = reason(oom).to_string();
        s.message = message.to_string();
        Some(s.clone())
    });
    let recorded = status.as_ref().is_some_and(Option::is_some);
    save(ctx, id, status.flatten());
    if recorded {
        stopped(ctx, id);
    }
    recorded
}

/// Notes an OOM kill: the exit reads OOMKilled, whichever of the two events is handled first
/// (the exit's handler runs on a task of its own, so it may already have recorded "Error").
pub fn record_oom(ctx: &Context, id: &str) {
    let status = ctx.containers.modify(id, |c| {
        let s = &mut c.status;
        let oom_exit = s.state == ContainerState::Exited && s.reason == "Error";
        (s.state == ContainerState::Running || oom_exit).then(|| {
            s.reason = OOM_KILLED.to_string();
            s.clone()
        })
    });
    save(ctx, id, status.flatten());
}

/// An exit event can overtake StartContainer's own record of the start: wait (bounded) until
/// the start is done. The state the container then has, or `None` if it is gone.
pub async fn settled_state(ctx: &Context, id: &str) -> Option<ContainerState> {
    for _ in 0..1000 {
        let status = ctx.containers.get(id)?.status;
        if !status.starting {
            return Some(status.state);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Some(ContainerState::Created)
}

/// Handles the exit of a container's init process: the exit is recorded and its task deleted
/// (so the pod's shim can go). Recorded first: a resync that runs meanwhile and finds no task
/// must see the exit recorded, not take it for lost. A task left by a kill between the two is
/// deleted by RemoveContainer.
pub async fn container_exited(ctx: &Context, id: &str, code: u32, at_ns: i64) {
    if settled_state(ctx, id).await != Some(ContainerState::Running) {
        return;
    }
    if code != 0 && super::oom::cgroup_saw_oom_kill(ctx, id) {
        record_oom(ctx, id);
    }
    if record_if_running(ctx, id, code as i32, at_ns) {
        tracing::info!(container = %id, code, "container exited");
    }
    let _turn = crate::shim_turns::take(ctx, id).await;
    if let Err(e) = ctx.lifecycle.delete_task(id).await {
        tracing::warn!(container = %id, error = %e, "could not delete the exited task");
    }
}

/// Compares a container recorded as running with its task in containerd, and records an exit
/// that no event brought (the stream broke, or cricket was down). A task that cannot be asked
/// about (containerd down or starting) is unknown, not exited: nothing changes then.
pub async fn reconcile(ctx: &Context, id: &str) {
    match ctx.lifecycle.task_state(id).await {
        Ok(Some((_, TaskState::Stopped))) => match ctx.lifecycle.wait_task(id).await {
            Ok(exit) => container_exited(ctx, id, exit.code, exit.exited_at_ns).await,
            Err(e) => {
                tracing::warn!(container = %id, error = %e, "could not read a stopped task's exit")
            }
        },
        Ok(None) => {
            if record_lost(ctx, id) {
                tracing::warn!(container = %id, "the task was gone; its exit code is lost");
            }
        }
        Ok(Some(_)) => {}
        Err(e) => {
            tracing::debug!(container = %id, error = %e, "cannot ask containerd about the task now; its state stays")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(reason(0, false), "Completed");
        assert_eq!(reason(3, false), "Error");
        assert_eq!(reason(137, true), "OOMKilled");
        assert_eq!(reason(0, true), "OOMKilled");
    }
}
