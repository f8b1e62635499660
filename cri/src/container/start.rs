//! StartContainer: the task through the pod's shim with `cricket-logger` on its output, started;
//! its exit reaches `crate::task_events`.

use containerd_bridge::TaskIo;
use k8s_cri::v1::{StartContainerRequest, StartContainerResponse};
use tonic::Status;

use super::{exits, now_ns, persist};
use crate::context::Context;
use crate::errors::from_bridge;
use crate::logs::{logger_binary, logger_uri, LoggerArgs};
use crate::store::containers::{Container, ContainerState};

fn task_io(ctx: &Context, c: &Container) -> Result<TaskIo, Status> {
    if c.meta.log_path.is_empty() {
        return Ok(TaskIo::default());
    }
    let log = std::path::Path::new(&c.meta.log_path);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Status::internal(format!("create {}: {e}", dir.display())))?;
    }
    let state = persist::state_dir(ctx, &c.meta.id);
    std::fs::create_dir_all(&state).map_err(|e| Status::internal(format!("create {}: {e}", state.display())))?;
    let uri = logger_uri(&logger_binary(), &LoggerArgs { path: log.to_path_buf(), pidfile: persist::logger_pidfile(ctx, &c.meta.id) });
    Ok(TaskIo { stdin: String::new(), stdout: uri.clone(), stderr: uri, terminal: false })
}

/// Marks the container as starting; refused unless it is Created and not already starting.
fn claim(ctx: &Context, id: &str) -> Result<Container, Status> {
    let claimed = ctx.containers.modify(id, |c| {
        if c.status.state != ContainerState::Created || c.status.starting {
            return Err(Status::failed_precondition(format!("container {id} is {:?}, not created", c.status.state)));
        }
        c.status.starting = true;
        Ok(c.clone())
    });
    claimed.unwrap_or_else(|| Err(Status::not_found(format!("container {id:?} not found"))))
}

pub(crate) async fn start_container(ctx: &std::sync::Arc<Context>, req: StartContainerRequest) -> Result<StartContainerResponse, Status> {
    let c = claim(ctx, &req.container_id)?;
    let result = start(ctx, &c).await;
    // Only now may an exit that overtook the start be recorded (`exits::settled_state`), so
    // that STOPPED follows STARTED.
    ctx.containers.update(&c.meta.id, |s| s.starting = false);
    result.map(|()| StartContainerResponse {})
}

async fn start(ctx: &Context, c: &Container) -> Result<(), Status> {
    let id = c.meta.id.clone();
    let cd = &ctx.containerd;
    let result = async {
        let mounts = cd.rootfs_mounts(&id).await.map_err(|e| from_bridge("rootfs mounts", e))?;
        cd.create_task(&id, mounts, &task_io(ctx, c)?).await.map_err(|e| from_bridge("create task", e))?;
        // Taken before the start, so that a process that exits at once has finished_at >= started_at.
        let started = now_ns();
        cd.start_task(&id).await.map(|pid| (pid, started)).map_err(|e| from_bridge("start task", e))
    }
    .await;
    let (pid, started) = match result {
        Ok(started) => started,
        Err(e) => {
            let _ = cd.kill_task(&id, libc::SIGKILL as u32, true).await;
            let _ = cd.delete_task(&id).await;
            exits::record(ctx, &id, 128, now_ns(), "StartError", e.message());
            return Err(e);
        }
    };
    let status = ctx.containers.update(&id, |s| {
        s.state = ContainerState::Running;
        s.pid = pid;
        s.started_at_ns = started;
    });
    if let Some(status) = status {
        persist::save_status(ctx, &id, &status).map_err(|e| Status::internal(format!("persist status: {e}")))?;
    }
    crate::container_events::emit(ctx, &id, &c.meta.sandbox_id, k8s_cri::v1::ContainerEventType::ContainerStartedEvent);
    tracing::info!(pod = %c.meta.sandbox_id, container = %id, pid, "container started");
    Ok(())
}
