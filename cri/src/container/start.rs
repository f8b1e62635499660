//! StartContainer: the task through the pod's shim with `cricket-logger` on its output
//! (`super::io`), started; its exit reaches `crate::adapters::containerd_event_loop`.

use crate::api::v1::{StartContainerRequest, StartContainerResponse};
use crate::error::Error;

use super::{exits, persist};
use crate::context::Context;
use crate::error::from_bridge;
use crate::store::containers::{Container, ContainerState};
use crate::sys::clock::now_ns;

/// Marks the container as starting; refused unless it is Created and not already starting.
fn claim(ctx: &Context, id: &str) -> Result<Container, Error> {
    let claimed = ctx.containers.modify(id, |c| {
        if c.status.state != ContainerState::Created || c.status.starting {
            return Err(Error::failed_precondition(format!(
                "container {id} is {:?}, not created",
                c.status.state
            )));
        }
        c.status.starting = true;
        Ok(c.clone())
    });
    claimed.unwrap_or_else(|| Err(crate::error::container_not_found(id)))
}

pub(crate) async fn start_container(
    ctx: &std::sync::Arc<Context>,
    req: StartContainerRequest,
) -> Result<StartContainerResponse, Error> {
    let c = claim(ctx, &req.container_id)?;
    let result = start(ctx, &c).await;
    // Only now may an exit that overtook the start be recorded (`exits::settled_state`), so
    // that STOPPED follows STARTED.
    ctx.containers.update(&c.meta.id, |s| s.starting = false);
    result.map(|()| StartContainerResponse {})
}

async fn start(ctx: &Context, c: &Container) -> Result<(), Error> {
    let id = c.meta.id.clone();
    let cd = &ctx.lifecycle;
    let t0 = std::time::Instant::now();
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    let io = super::io::prepare(ctx, c);
    let result = async {
        let io = io.as_ref().map_err(Clone::clone)?;
        let mounts = cd.rootfs_mounts(&id).await.map_err(|e| from_bridge("rootfs mounts", e))?;
        let t1 = std::time::Instant::now();
        let turn = crate::shim_turns::take(ctx, &id).await;
        match super::restore::criu_images(ctx, &id) {
            Some(images) => cd.create_restored_task(&id, mounts, &io.task, &images).await,
            None => cd.create_task(&id, mounts, &io.task).await,
        }
        .map_err(|e| from_bridge("create task", e))?;
        drop(turn);
        let t2 = std::time::Instant::now();
        // Taken before the start, so that a process that exits at once has finished_at >= started_at.
        let started = now_ns();
        let pid = cd.start_task(&id).await.map_err(|e| from_bridge("start task", e))?;
        tracing::debug!(container = %id, mounts_ms = ms(t0) - ms(t1), task_ms = ms(t1) - ms(t2), started_ms = ms(t2), "container start steps");
        Ok::<_, Error>((pid, started))
    }
    .await;
    let result = match result {
        Err(e) => match started_after_all(ctx, &id).await {
            Some(pid) => Ok((pid, now_ns())),
            None => Err(e),
        },
        ok => ok,
    };
    if let Ok(io) = io {
        super::io::settle(io, result.is_ok());
    }
    let (pid, started) = match result {
        Ok(started) => started,
        Err(e) => {
            if let Err(left) = super::remove_task(ctx, &id).await {
                tracing::warn!(container = %id, error = %left, "the failed start's task could not be removed now");
                ctx.janitor.leave_task(&id);
            }
            exits::record(ctx, &id, 128, now_ns(), "StartError", &e.message());
            return Err(e);
        }
    };
    if super::restore::criu_images(ctx, &id).is_some() {
        super::restore::done(ctx, &id);
    }
    ctx.stats.note_started(&id, pid);
    let status = ctx.containers.update(&id, |s| {
        s.state = ContainerState::Running;
        s.pid = pid;
        s.started_at_ns = started;
    });
    if let Some(status) = status {
        persist::save_status(ctx, &id, &status)
            .map_err(|e| Error::internal("persist status", e))?;
    }
    crate::cri_events::emit(
        ctx,
        &id,
        &c.meta.sandbox_id,
        crate::api::v1::ContainerEventType::ContainerStartedEvent,
    );
    tracing::info!(pod = %c.meta.sandbox_id, container = %id, pid, "container started");
    Ok(())
}

/// containerd may have started the task and lost only its answer (it was killed meanwhile):
/// the task's PID if it runs, asked until containerd answers (for up to 10 s).
async fn started_after_all(ctx: &Context, id: &str) -> Option<u32> {
    for _ in 0..50 {
        match ctx.lifecycle.task_state(id).await {
            Ok(Some((pid, containerd_bridge::TaskState::Running))) => {
                tracing::warn!(container = %id, pid, "the start failed on the way back, but the task runs: started");
                return Some(pid);
            }
            Ok(_) => return None,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    None
}
