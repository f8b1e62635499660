//! ExecSync: a process in the container, run to completion with its output collected.
//!
//! The timeout is a deadline for the whole call. When it passes the process and its children
//! are killed and the call answers `DeadlineExceeded` at once (kubelet counts that as a probe
//! timeout), without waiting for output. After the process exits its output is drained until
//! its FIFOs close; a background child that keeps them open (`sleep 30 &`) gets a short grace,
//! never more than the deadline, and the answer carries what came until then.

use std::time::Duration;

use crate::api::v1::{ExecSyncRequest, ExecSyncResponse};
use crate::error::Error;
use tokio::time::Instant;

use super::launch::{launch, ExecStreams, Launched};
use super::output::{self, MAX_OUTPUT};
use crate::context::Context;

/// How long output may still arrive after the process exited.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

pub(crate) async fn exec_sync(
    ctx: &Context,
    req: ExecSyncRequest,
) -> Result<ExecSyncResponse, Error> {
    let deadline =
        (req.timeout > 0).then(|| Instant::now() + Duration::from_secs(req.timeout as u64));
    let mut launched = launch(
        ctx,
        &req.container_id,
        &req.cmd,
        ExecStreams { stdout: true, stderr: true, ..Default::default() },
    )
    .await?;
    let result = collect(&mut launched, deadline).await;
    if result.is_err() {
        // Killed, with its children, before the answer, so that a caller finds them gone.
        launched.kill().await;
    }
    launched.finish();
    result
}

async fn collect(l: &mut Launched, deadline: Option<Instant>) -> Result<ExecSyncResponse, Error> {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let (out_rx, err_rx) =
        (l.stdout.take().expect("stdout asked for"), l.stderr.take().expect("stderr asked for"));
    let exit = {
        let drained = async {
            tokio::join!(
                output::drain(out_rx, &mut stdout, MAX_OUTPUT),
                output::drain(err_rx, &mut stderr, MAX_OUTPUT)
            );
        };
        let wait = l.wait();
        tokio::pin!(drained, wait);
        let mut drained_done = false;
        let exit = loop {
            tokio::select! {
                exit = &mut wait => break exit?,
                _ = until(deadline) => return Err(Error::deadline_exceeded("the command timed out; it was killed")),
                _ = &mut drained, if !drained_done => drained_done = true,
            }
        };
        if !drained_done {
            // A background child may hold the pipes open: wait briefly, never past the deadline.
            let grace = Instant::now() + DRAIN_GRACE;
            let _ = tokio::time::timeout_at(deadline.map_or(grace, |d| d.min(grace)), &mut drained)
                .await;
        }
        exit
    };
    output::fit(&mut stdout, &mut stderr);
    crate::sys::memory::release_free_memory();
    Ok(ExecSyncResponse { stdout, stderr, exit_code: exit.code as i32 })
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
