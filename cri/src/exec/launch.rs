//! Starting a process in a running container, for ExecSync and for the streaming Exec: the
//! container's own OCI process running the command, with FIFOs under
//! `state_dir/exec/<exec-id>/` for the streams asked for. cricket opens the outputs before the
//! shim opens its ends, and stdin's writer once the shim's reader is there.
//! [`Launched::finish`] deletes the process and its FIFOs once it is done.

use crate::error::Error;
use std::path::PathBuf;

use containerd_bridge::{TaskExit, TaskIo};

use crate::adapters::containerd_lifecycle::Lifecycle;
use oci_spec::runtime::Spec;
use tokio::net::unix::pipe;

use crate::sys::fifo::PendingWriter;

use super::process_spec::exec_process;
use crate::context::Context;
use crate::error::from_bridge;
use crate::store::containers::ContainerState;

/// The streams an exec has.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// A started exec, with cricket's ends of its streams (both outputs always: drain what
/// nobody wants).
pub struct Launched {
    pub container_id: String,
    pub exec_id: String,
    pub pid: u32,
    pub stdin: Option<PendingWriter>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    containerd: std::sync::Arc<dyn Lifecycle>,
    dir: PathBuf,
}

async fn container_spec(ctx: &Context, id: &str) -> Result<Spec, Error> {
    let record =
        ctx.lifecycle.get_container(id).await.map_err(|e| from_bridge("get container", e))?;
    let spec = record
        .and_then(|r| r.spec)
        .ok_or_else(|| Error::not_found(format!("container {id} has no containerd record")))?;
    serde_json::from_slice(&spec.value)
        .map_err(|e| Error::internal(format!("the recorded spec of {id}"), e))
}

fn fifo(dir: &std::path::Path, name: &str) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    crate::sys::fifo::make(&path)
        .map_err(|e| Error::internal(format!("exec fifo {}", path.display()), e))?;
    Ok(path)
}

fn internal(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::internal(format!("open {}", path.display()), e)
}

/// Starts `cmd` in container `container_id` (which must run) with `streams`.
pub async fn launch(
    ctx: &Context,
    container_id: &str,
    cmd: &[String],
    streams: ExecStreams,
) -> Result<Launched, Error> {
    let c = ctx
        .containers
        .get(container_id)
        .ok_or_else(|| crate::error::container_not_found(container_id))?;
    if c.status.state != ContainerState::Running {
        return Err(Error::failed_precondition(format!("container {} is not running", c.meta.id)));
    }
    let id = c.meta.id.clone();
    let process = exec_process(&container_spec(ctx, &id).await?, cmd, streams.tty)?;
    let exec_id = crate::sys::random::hex(16).map_err(|e| Error::internal("a new exec ID", e))?;
    let dir = ctx.config.state_dir.join("exec").join(&exec_id);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::internal(format!("create {}", dir.display()), e))?;
    let mut launched = Launched {
        container_id: id,
        exec_id,
        pid: 0,
        stdin: None,
        stdout: None,
        stderr: None,
        containerd: ctx.lifecycle.clone(),
        dir,
    };
    let result = open_and_start(&mut launched, process, streams).await;
    match result {
        Ok(()) => Ok(launched),
        Err(e) => {
            launched.finish();
            Err(e)
        }
    }
}

async fn open_and_start(
    l: &mut Launched,
    process: oci_spec::runtime::Process,
    streams: ExecStreams,
) -> Result<(), Error> {
    let mut io = TaskIo { terminal: streams.tty, ..Default::default() };
    if streams.stdin {
        let path = fifo(&l.dir, "stdin")?;
        // Connected once the shim's reader has opened, at the process's start.
        l.stdin = Some(PendingWriter::start(&path));
        io.stdin = path.display().to_string();
    }
    // Both output FIFOs always: the runc shim opens a path for each, even for a stream nobody
    // asked for (a tty carries its one stream as stdout; its stderr FIFO stays unused).
    for name in ["stdout", "stderr"] {
        let path = fifo(&l.dir, name)?;
        let rx = pipe::OpenOptions::new().open_receiver(&path).map_err(|e| internal(&path, e))?;
        let text = path.display().to_string();
        if name == "stdout" {
            (l.stdout, io.stdout) = (Some(rx), text);
        } else {
            (l.stderr, io.stderr) = (Some(rx), text);
        }
    }
    let cd = &l.containerd;
    cd.exec_process(
        &l.container_id,
        &l.exec_id,
        serde_json::to_vec(&process).expect("serialisable"),
        &io,
    )
    .await
    .map_err(|e| from_bridge("exec", e))?;
    l.pid = cd
        .start_process(&l.container_id, &l.exec_id)
        .await
        .map_err(|e| from_bridge("exec start", e))?;
    tracing::debug!(container = %l.container_id, exec = %l.exec_id, pid = l.pid, "exec started");
    Ok(())
}

impl Launched {
    /// Waits for the process to exit (at once if it already has).
    pub async fn wait(&self) -> Result<TaskExit, Error> {
        self.containerd
            .wait_process(&self.container_id, &self.exec_id)
            .await
            .map_err(|e| from_bridge("exec wait", e))
    }

    /// Resizes the exec's terminal.
    pub async fn resize(&self, width: u32, height: u32) -> Result<(), Error> {
        self.containerd
            .resize_process(&self.container_id, &self.exec_id, width, height)
            .await
            .map_err(|e| from_bridge("exec resize", e))
    }

    /// What ends the process's input once cricket's end of stdin is closed (the shim holds
    /// the FIFO open too, until told).
    pub fn stdin_closer(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (cd, id, exec_id) =
            (self.containerd.clone(), self.container_id.clone(), self.exec_id.clone());
        async move {
            if let Err(e) = cd.close_stdin(&id, &exec_id).await {
                tracing::debug!(error = %e, "close stdin");
            }
        }
    }

    /// Kills the process and every descendant (a shell's children too).
    pub async fn kill(&self) {
        crate::sys::blocking::run(|| super::process_tree::kill_tree(self.pid as i32));
        let _ = self
            .containerd
            .kill_process(&self.container_id, &self.exec_id, libc::SIGKILL as u32, false)
            .await;
    }

    /// Once it exits: deletes the process from the shim and removes its FIFOs (in the
    /// background; cricket's ends close now). Dropping a `Launched` does the same, so a
    /// session cut short leaves nothing either.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let (containerd, container_id, exec_id, dir) = (
            self.containerd.clone(),
            self.container_id.clone(),
            self.exec_id.clone(),
            self.dir.clone(),
        );
        let cleanup = async move {
            let _ = containerd.wait_process(&container_id, &exec_id).await;
            let _ = containerd.delete_process(&container_id, &exec_id).await;
            let _ = crate::sys::blocking::run(|| {
                // A stdin pump still waiting for the shim's reader (the shim never opened it)
                // is let go before its FIFO goes.
                crate::sys::fifo::release_writers(&dir.join("stdin"));
                std::fs::remove_dir_all(&dir)
            });
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(cleanup)),
            Err(_) => {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}
