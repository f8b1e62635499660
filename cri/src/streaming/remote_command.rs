//! The remote-command session of a streaming Exec, whatever the transport: client input
//! (stdin, resize) arrives on channels, output leaves as (channel, bytes), and the end is a
//! status on the error channel. Channel numbers are Kubernetes' own: 0 stdin, 1 stdout,
//! 2 stderr, 3 error, 4 resize.

use crate::api::v1::ExecRequest;
use bytes::Bytes;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use crate::context::Context;
use crate::exec::{launch, ExecStreams};
use crate::sys::fifo::PendingWriter;

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;

/// How long output may still arrive after the process exited (a background child may hold
/// the pipes open).
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// A terminal size, as clients send it on the resize channel.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct TermSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

/// The transport's side of a session.
pub struct SessionIo {
    /// Client stdin; `None` when the request has none. The sender's drop is end of input.
    pub stdin: Option<mpsc::Receiver<Bytes>>,
    pub resize: mpsc::Receiver<TermSize>,
    /// Output for the client, bounded: a slow client slows the process, never loses data.
    pub out: mpsc::Sender<(u8, Bytes)>,
}

/// How the error channel reports the end: v4 and later send a JSON Status always; earlier
/// versions send a plain message, and only on failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatusFormat {
    Json,
    Text,
}

/// What the error channel carries for an exit code (or a failure to run at all).
pub fn end_message(format: StatusFormat, outcome: Result<i32, String>) -> Option<String> {
    match (format, outcome) {
        (StatusFormat::Json, Ok(0)) => Some(r#"{"metadata":{},"status":"Success"}"#.to_string()),
        (StatusFormat::Json, Ok(code)) => Some(
            serde_json::json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: exit status {code}"),
                "reason": "NonZeroExitCode",
                "details": { "causes": [{ "reason": "ExitCode", "message": code.to_string() }] }
            })
            .to_string(),
        ),
        (StatusFormat::Json, Err(message)) => {
            Some(serde_json::json!({ "metadata": {}, "status": "Failure", "message": message, "reason": "InternalError" }).to_string())
        }
        (StatusFormat::Text, Ok(0)) => None,
        (StatusFormat::Text, Ok(code)) => Some(format!("command terminated with non-zero exit code: exit status {code}")),
        (StatusFormat::Text, Err(message)) => Some(message),
    }
}

/// Forwards an output FIFO on `channel`, or drains it unseen when the client did not ask for
/// that stream (`channel` None).
async fn pump_out(rx: Option<pipe::Receiver>, channel: Option<u8>, out: mpsc::Sender<(u8, Bytes)>) {
    let Some(mut rx) = rx else { return };
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = rx.read(&mut buf).await {
        if n == 0 {
            return;
        }
        if let Some(channel) = channel {
            if out.send((channel, Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                return;
            }
        }
    }
}

async fn pump_in(
    mut from: mpsc::Receiver<Bytes>,
    to: PendingWriter,
    close: impl std::future::Future<Output = ()>,
) {
    let mut to = match to.connected().await {
        Ok(to) => to,
        Err(e) => {
            tracing::debug!(error = %e, "exec stdin");
            return;
        }
    };
    while let Some(data) = from.recv().await {
        if to.write_all(&data).await.is_err() {
            break;
        }
    }
    // The client's end of input is the process's: close both writers of the FIFO.
    drop(to);
    close.await;
}

/// What a session runs: a new process, or the container's own.
#[derive(Debug, Clone)]
pub enum Target {
    Exec(ExecRequest),
    Attach(crate::api::v1::AttachRequest),
}

impl Target {
    /// (stdin, stdout, stderr, tty) as asked.
    pub fn streams(&self) -> (bool, bool, bool, bool) {
        match self {
            Target::Exec(r) => (r.stdin, r.stdout, r.stderr, r.tty),
            Target::Attach(r) => (r.stdin, r.stdout, r.stderr, r.tty),
        }
    }

    pub fn container_id(&self) -> &str {
        match self {
            Target::Exec(r) => &r.container_id,
            Target::Attach(r) => &r.container_id,
        }
    }
}

/// Runs `target` to its end over `io`, then reports on the error channel.
pub async fn run(ctx: &Context, target: Target, io: SessionIo, format: StatusFormat) {
    match target {
        Target::Exec(req) => exec(ctx, req, io, format).await,
        Target::Attach(req) => super::attach::attach(ctx, req, io, format).await,
    }
}

/// Runs the exec of `req` to its end over `io`, then reports on the error channel.
pub async fn exec(ctx: &Context, req: ExecRequest, mut io: SessionIo, format: StatusFormat) {
    let streams =
        ExecStreams { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty };
    let mut launched = match launch(ctx, &req.container_id, &req.cmd, streams).await {
        Ok(l) => l,
        Err(e) => {
            if let Some(m) = end_message(format, Err(e.message().to_string())) {
                let _ = io.out.send((ERROR, Bytes::from(m))).await;
            }
            return;
        }
    };
    if let (Some(from), Some(to)) = (io.stdin.take(), launched.stdin.take()) {
        tokio::spawn(pump_in(from, to, launched.stdin_closer()));
    }
    let (stdout, stderr) = (launched.stdout.take(), launched.stderr.take());
    let outputs = async {
        let (out, err) = (req.stdout.then_some(STDOUT), (req.stderr && !req.tty).then_some(STDERR));
        tokio::join!(pump_out(stdout, out, io.out.clone()), pump_out(stderr, err, io.out.clone()));
    };
    tokio::pin!(outputs);
    let mut outputs_done = false;
    let exit = {
        let wait = launched.wait();
        tokio::pin!(wait);
        loop {
            tokio::select! {
                exit = &mut wait => break exit,
                Some(size) = io.resize.recv() => {
                    if let Err(e) = launched.resize(u32::from(size.width), u32::from(size.height)).await {
                        tracing::debug!(error = %e, "resize");
                    }
                }
                _ = &mut outputs, if !outputs_done => outputs_done = true,
            }
        }
    };
    if !outputs_done {
        let _ = tokio::time::timeout(DRAIN_GRACE, &mut outputs).await;
    }
    let outcome = exit.map(|e| e.code as i32).map_err(|e| e.message().to_string());
    if let Some(m) = end_message(format, outcome) {
        let _ = io.out.send((ERROR, Bytes::from(m))).await;
    }
    launched.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_is_a_v4_status_or_a_plain_message() {
        assert_eq!(
            end_message(StatusFormat::Json, Ok(0)).unwrap(),
            r#"{"metadata":{},"status":"Success"}"#
        );
        let failed: serde_json::Value =
            serde_json::from_str(&end_message(StatusFormat::Json, Ok(3)).unwrap()).unwrap();
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(
            failed["details"]["causes"][0],
            serde_json::json!({ "reason": "ExitCode", "message": "3" })
        );
        assert_eq!(end_message(StatusFormat::Text, Ok(0)), None);
        assert!(end_message(StatusFormat::Text, Ok(3)).unwrap().contains("exit status 3"));
        let size: TermSize = serde_json::from_str(r#"{"Width":80,"Height":24}"#).unwrap();
        assert_eq!(size, TermSize { width: 80, height: 24 });
    }
}
