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

/// The container's stdin FIFO, made afresh.
fn make_stdin_fifo(path: &std::path::Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let c_path = crate::mounts::c_path(path)?;
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Output to `cricket-logger` (a tty's too: the shim copies the console to it as stdout);
/// stdin through a FIFO the logger keeps open. The runc shim reads stdin only for a tty
/// when output goes to a logger binary; plain stdin waits for attach (the streaming issue).
fn task_io(ctx: &Context, c: &Container) -> Result<TaskIo, Status> {
    let state = persist::state_dir(ctx, &c.meta.id);
    std::fs::create_dir_all(&state).map_err(|e| Status::internal(format!("create {}: {e}", state.display())))?;
    let stdin = if c.config.stdin && c.config.tty {
        let fifo = persist::stdin_fifo(ctx, &c.meta.id);
        make_stdin_fifo(&fifo).map_err(|e| Status::internal(format!("make {}: {e}", fifo.display())))?;
        Some(fifo)
    } else {
        None
    };
    let mut io = TaskIo { terminal: c.config.tty, stdin: stdin.as_ref().map(|p| p.display().to_string()).unwrap_or_default(), ..Default::default() };
    if c.meta.log_path.is_empty() {
        return Ok(io);
    }
    let log = std::path::Path::new(&c.meta.log_path);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Status::internal(format!("create {}: {e}", dir.display())))?;
    }
    let args = LoggerArgs { path: log.to_path_buf(), pidfile: persist::logger_pidfile(ctx, &c.meta.id), stdin };
    let uri = logger_uri(&logger_binary(), &args);
    io.stdout = uri.clone();
    // With a tty there is one stream; the shim wants no stderr then.
    io.stderr = if c.config.tty { String::new() } else { uri };
    Ok(io)
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
    let t0 = std::time::Instant::now();
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    let result = async {
        let mounts = cd.rootfs_mounts(&id).await.map_err(|e| from_bridge("rootfs mounts", e))?;
        let t1 = std::time::Instant::now();
        cd.create_task(&id, mounts, &task_io(ctx, c)?).await.map_err(|e| from_bridge("create task", e))?;
        let t2 = std::time::Instant::now();
        // Taken before the start, so that a process that exits at once has finished_at >= started_at.
        let started = now_ns();
        let pid = cd.start_task(&id).await.map_err(|e| from_bridge("start task", e))?;
        tracing::debug!(container = %id, mounts_ms = ms(t0) - ms(t1), task_ms = ms(t1) - ms(t2), started_ms = ms(t2), "container start steps");
        Ok::<_, Status>((pid, started))
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
