//! The attach session: the container's own output from `cricket-logger`'s attach socket, its
//! stdin FIFO for input (when the container has stdin), and its terminal's size. It ends when
//! the container's output does (the container exited), with success on the error channel. A
//! `stdin_once` container's stdin is closed for good when the attacher's input ends.

use crate::api::v1::AttachRequest;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;

use super::remote_command::{end_message, SessionIo, StatusFormat, ERROR, STDERR, STDOUT};
use crate::container::persist;
use crate::context::Context;

async fn fail(io: &SessionIo, format: StatusFormat, message: String) {
    if let Some(m) = end_message(format, Err(message)) {
        let _ = io.out.send((ERROR, Bytes::from(m))).await;
    }
}

pub async fn attach(ctx: &Context, req: AttachRequest, mut io: SessionIo, format: StatusFormat) {
    let Some(c) = ctx.containers.get(&req.container_id) else {
        return fail(&io, format, format!("container {:?} not found", req.container_id)).await;
    };
    let id = c.meta.id.clone();
    let mut output = match tokio::net::UnixStream::connect(persist::attach_socket(ctx, &id)).await {
        Ok(s) => s,
        Err(e) => return fail(&io, format, format!("attach to {id}: {e}")).await,
    };
    if let (Some(from), true) = (io.stdin.take(), c.config.stdin) {
        match pipe::OpenOptions::new().open_sender(persist::stdin_fifo(ctx, &id)) {
            Ok(to) => {
                let once = c.config.stdin_once.then(|| {
                    (ctx.lifecycle.clone(), id.clone(), persist::logger_pidfile(ctx, &id))
                });
                tokio::spawn(feed_stdin(from, to, once));
            }
            Err(e) => return fail(&io, format, format!("open the stdin of {id}: {e}")).await,
        }
    }
    let (want_out, want_err) = (req.stdout, req.stderr && !req.tty);
    loop {
        tokio::select! {
            frame = crate::logs::read_frame(&mut output) => match frame {
                Some((STDOUT, data)) if want_out => {
                    if io.out.send((STDOUT, Bytes::from(data))).await.is_err() { return }
                }
                Some((STDERR, data)) if want_err => {
                    if io.out.send((STDERR, Bytes::from(data))).await.is_err() { return }
                }
                Some(_) => {}
                None => break,
            },
            Some(size) = io.resize.recv() => {
                let _ = ctx.lifecycle.resize_process(&id, "", u32::from(size.width), u32::from(size.height)).await;
            }
        }
    }
    if let Some(m) = end_message(format, Ok(0)) {
        let _ = io.out.send((ERROR, Bytes::from(m))).await;
    }
}

/// Copies the attacher's input into the container's stdin FIFO. For `stdin_once`, its end is
/// the container's: the logger lets go of the FIFO (SIGUSR2) and the shim closes its end.
async fn feed_stdin(
    mut from: tokio::sync::mpsc::Receiver<Bytes>,
    mut to: pipe::Sender,
    once: Option<(
        std::sync::Arc<dyn crate::adapters::containerd_lifecycle::Lifecycle>,
        String,
        std::path::PathBuf,
    )>,
) {
    while let Some(data) = from.recv().await {
        if to.write_all(&data).await.is_err() {
            break;
        }
    }
    drop(to);
    if let Some((containerd, id, pidfile)) = once {
        if let Some(pid) =
            std::fs::read_to_string(pidfile).ok().and_then(|p| p.trim().parse::<i32>().ok())
        {
            let is_logger = |pid| crate::sys::signal::runs_program(pid, "cricket-logger");
            let _ = crate::sys::signal::send_if(pid, libc::SIGUSR2, is_logger);
        }
        let _ = containerd.close_stdin(&id, "").await;
    }
}
