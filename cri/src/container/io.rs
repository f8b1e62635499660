//! A container's standard streams, set up for StartContainer. Output always goes to a
//! `cricket-logger` beside the container, never through cricket:
//! - usually the runc shim starts it through a `binary://` log URI, and hands it the pipes (a
//!   tty's console too, as stdout);
//! - a container with plain (non-tty) stdin needs the shim's FIFO mode, as the shim reads no
//!   stdin for a logger binary without a tty: cricket makes stdout/stderr FIFOs and starts the
//!   logger itself, detached, to drain them.
//!
//! Stdin is a FIFO that the logger holds open for writing, so it does not end with cricket;
//! attach (the streaming issue) writes to it.

use crate::error::Error;
use std::path::{Path, PathBuf};

use containerd_bridge::TaskIo;

use super::persist;
use crate::context::Context;
use crate::logs::{fifo_logger_args, logger_binary, logger_uri, LoggerArgs};
use crate::store::containers::Container;

/// The task's IO, and the logger cricket started itself (to stop if the start fails).
pub struct ContainerIo {
    pub task: TaskIo,
    pub own_logger: Option<tokio::process::Child>,
}

fn internal(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("{what} {}", path.display()), e)
}

fn fifo(ctx: &Context, id: &str, name: &str) -> Result<PathBuf, Error> {
    let path = persist::state_dir(ctx, id).join(name);
    crate::sys::fifo::make(&path).map_err(|e| internal("make", &path, e))?;
    Ok(path)
}

/// The log file, its directory made; `/dev/null` for a container without one.
fn log_file(c: &Container) -> Result<PathBuf, Error> {
    if c.meta.log_path.is_empty() {
        return Ok(PathBuf::from("/dev/null"));
    }
    let log = PathBuf::from(&c.meta.log_path);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| internal("create", dir, e))?;
    }
    Ok(log)
}

pub fn prepare(ctx: &Context, c: &Container) -> Result<ContainerIo, Error> {
    let id = &c.meta.id;
    let state = persist::state_dir(ctx, id);
    std::fs::create_dir_all(&state).map_err(|e| internal("create", &state, e))?;
    let stdin = if c.config.stdin { Some(fifo(ctx, id, "stdin")?) } else { None };
    let attach = persist::attach_socket(ctx, id);
    if let Some(dir) = attach.parent() {
        std::fs::create_dir_all(dir).map_err(|e| internal("create", dir, e))?;
    }
    let mut args = LoggerArgs {
        path: log_file(c)?,
        pidfile: persist::logger_pidfile(ctx, id),
        stdin,
        stdout: None,
        stderr: None,
        attach: Some(attach),
    };
    let mut task = TaskIo {
        terminal: c.config.tty,
        stdin: args.stdin.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        ..Default::default()
    };
    if c.config.stdin && !c.config.tty {
        let (stdout, stderr) = (fifo(ctx, id, "stdout")?, fifo(ctx, id, "stderr")?);
        task.stdout = stdout.display().to_string();
        task.stderr = stderr.display().to_string();
        (args.stdout, args.stderr) = (Some(stdout), Some(stderr));
        return Ok(ContainerIo { task, own_logger: Some(spawn_logger(&args)?) });
    }
    let uri = logger_uri(&logger_binary(), &args);
    task.stdout = uri.clone();
    // With a tty there is one stream; the shim wants no stderr then.
    task.stderr = if c.config.tty { String::new() } else { uri };
    Ok(ContainerIo { task, own_logger: None })
}

/// Starts `cricket-logger fifos`, in a session of its own so that nothing aimed at cricket's
/// process group reaches it.
fn spawn_logger(args: &LoggerArgs) -> Result<tokio::process::Child, Error> {
    let mut cmd = tokio::process::Command::new(logger_binary());
    cmd.args(fifo_logger_args(args))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    crate::sys::process::in_new_session(cmd.as_std_mut());
    cmd.spawn().map_err(|e| internal("start", &logger_binary(), e))
}

/// After the start: reap the logger when it exits (it outlives the container's output), or,
/// if the start failed, stop it now.
pub fn settle(io: ContainerIo, started: bool) {
    if let Some(mut child) = io.own_logger {
        if !started {
            let _ = child.start_kill();
        }
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
    }
}
