//! ExecSync: a process in the container, run to completion with its output collected.
//!
//! The timeout is a deadline for the whole call. When it passes the process is killed and the
//! call answers `DeadlineExceeded` at once (kubelet counts that as a probe timeout), without
//! waiting for output. After the process exits its output is drained until its FIFOs close;
//! a background child that keeps them open (`sleep 30 &`) gets a short grace, never more than
//! the deadline, and the answer carries what came until then.

use std::path::PathBuf;
use std::time::Duration;

use containerd_bridge::TaskIo;
use k8s_cri::v1::{ExecSyncRequest, ExecSyncResponse};
use oci_spec::runtime::Spec;
use tokio::time::Instant;
use tonic::Status;

use super::output::{self, MAX_OUTPUT};
use super::process_spec::exec_process;
use crate::context::Context;
use crate::errors::from_bridge;
use crate::store::containers::ContainerState;

/// How long output may still arrive after the process exited.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// The FIFOs of one exec, removed with it.
struct ExecDir(PathBuf);

impl Drop for ExecDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn make_fifo(path: &std::path::Path) -> std::io::Result<()> {
    let c_path = crate::mounts::c_path(path)?;
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

async fn container_spec(ctx: &Context, id: &str) -> Result<Spec, Status> {
    let record = ctx.containerd.get_container(id).await.map_err(|e| from_bridge("get container", e))?;
    let spec = record.and_then(|r| r.spec).ok_or_else(|| Status::not_found(format!("container {id} has no containerd record")))?;
    serde_json::from_slice(&spec.value).map_err(|e| Status::internal(format!("the recorded spec of {id}: {e}")))
}

pub(crate) async fn exec_sync(ctx: &Context, req: ExecSyncRequest) -> Result<ExecSyncResponse, Status> {
    let deadline = (req.timeout > 0).then(|| Instant::now() + Duration::from_secs(req.timeout as u64));
    let c = ctx.containers.get(&req.container_id).ok_or_else(|| Status::not_found(format!("container {:?} not found", req.container_id)))?;
    if c.status.state != ContainerState::Running {
        return Err(Status::failed_precondition(format!("container {} is not running", c.meta.id)));
    }
    let id = c.meta.id.clone();
    let process = exec_process(&container_spec(ctx, &id).await?, &req.cmd, false).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let exec_id = crate::sandbox::new_id()[..32].to_string();
    let dir = ExecDir(ctx.config.state_dir.join("exec").join(&exec_id));
    std::fs::create_dir_all(&dir.0).map_err(|e| Status::internal(format!("create {}: {e}", dir.0.display())))?;
    let (out_path, err_path) = (dir.0.join("stdout"), dir.0.join("stderr"));
    let mut readers = Vec::new();
    for p in [&out_path, &err_path] {
        make_fifo(p).and_then(|()| output::open(p).map(|r| readers.push(r))).map_err(|e| Status::internal(format!("exec fifo {}: {e}", p.display())))?;
    }
    let io = TaskIo { stdout: out_path.display().to_string(), stderr: err_path.display().to_string(), ..Default::default() };
    let cd = &ctx.containerd;
    cd.exec_process(&id, &exec_id, serde_json::to_vec(&process).expect("serialisable"), &io).await.map_err(|e| from_bridge("exec", e))?;
    // From here on the process exists in the shim and must be deleted, whatever happens.
    let mut pid = 0;
    let result = run(ctx, &id, &exec_id, readers, deadline, &mut pid).await;
    if result.is_err() {
        // Killed, with its children, before the answer, so that a caller finds them gone.
        super::process_tree::kill_tree(pid as i32);
        let _ = cd.kill_process(&id, &exec_id, libc::SIGKILL as u32, false).await;
    }
    let (cd, cid, eid) = (cd.clone(), id.clone(), exec_id.clone());
    tokio::spawn(async move {
        let _ = cd.wait_process(&cid, &eid).await;
        let _ = cd.delete_process(&cid, &eid).await;
        drop(dir);
    });
    result
}

/// Starts the exec (its PID goes to `pid`), waits for it and collects its output.
async fn run(
    ctx: &Context,
    id: &str,
    exec_id: &str,
    readers: Vec<tokio::net::unix::pipe::Receiver>,
    deadline: Option<Instant>,
    pid: &mut u32,
) -> Result<ExecSyncResponse, Status> {
    let cd = &ctx.containerd;
    // The wait is sent with the start, so that a quick exit is not missed; it may even
    // answer before the start does.
    let wait = async { cd.wait_process(id, exec_id).await.map_err(|e| from_bridge("exec wait", e)) };
    let start = async { cd.start_process(id, exec_id).await.map_err(|e| from_bridge("exec start", e)) };
    tokio::pin!(wait, start);
    let mut early_exit = None;
    *pid = tokio::select! {
        started = &mut start => started?,
        exit = &mut wait => {
            early_exit = Some(exit);
            start.await?
        }
    };
    tracing::debug!(container = %id, exec = %exec_id, pid = *pid, "exec started");
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut readers = readers.into_iter();
    let (out_rx, err_rx) = (readers.next().expect("stdout"), readers.next().expect("stderr"));
    let exit = {
        let drained = async {
            tokio::join!(output::drain(out_rx, &mut stdout, MAX_OUTPUT), output::drain(err_rx, &mut stderr, MAX_OUTPUT));
        };
        tokio::pin!(drained);
        let mut drained_done = false;
        let exit = loop {
            if let Some(exit) = early_exit.take() {
                break exit?;
            }
            tokio::select! {
                exit = &mut wait => break exit?,
                _ = until(deadline) => return Err(timed_out()),
                _ = &mut drained, if !drained_done => drained_done = true,
            }
        };
        if !drained_done {
            // A background child may hold the pipes open: wait briefly, never past the deadline.
            let grace = Instant::now() + DRAIN_GRACE;
            let _ = tokio::time::timeout_at(deadline.map_or(grace, |d| d.min(grace)), &mut drained).await;
        }
        exit
    };
    output::fit(&mut stdout, &mut stderr);
    crate::memory::release_free_memory();
    Ok(ExecSyncResponse { stdout, stderr, exit_code: exit.code as i32 })
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn timed_out() -> Status {
    Status::deadline_exceeded("the command timed out; it was killed")
}
