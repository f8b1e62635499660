//! Exec, Attach and PortForward: the request is checked against the stores now, so that a bad
//! one fails here with a clear status rather than after the client connected.

use crate::api::v1::{
    AttachRequest, AttachResponse, ExecRequest, ExecResponse, PortForwardRequest,
    PortForwardResponse,
};
use crate::error::Error;

use super::StreamRequest;
use crate::context::Context;
use crate::store::containers::ContainerState;
use crate::store::sandboxes::SandboxState;

/// The full ID of a running container.
fn running_container(ctx: &Context, id: &str) -> Result<String, Error> {
    let c = ctx.containers.get(id).ok_or_else(|| crate::error::container_not_found(id))?;
    if c.status.state != ContainerState::Running {
        return Err(Error::failed_precondition(format!("container {} is not running", c.meta.id)));
    }
    Ok(c.meta.id)
}

fn streams(tty: bool, stdin: bool, stdout: bool, stderr: bool) -> Result<(), Error> {
    if tty && stderr {
        return Err(Error::invalid(
            "tty and stderr",
            "a terminal has one output stream; ask for stdout only",
        ));
    }
    if !(stdin || stdout || stderr) {
        return Err(Error::invalid("stdin, stdout, stderr", "at least one stream is needed"));
    }
    Ok(())
}

pub(crate) fn exec(ctx: &Context, mut req: ExecRequest) -> Result<ExecResponse, Error> {
    req.container_id = running_container(ctx, &req.container_id)?;
    if req.cmd.first().is_none_or(|c| c.is_empty()) {
        return Err(Error::invalid("cmd", "empty"));
    }
    streams(req.tty, req.stdin, req.stdout, req.stderr)?;
    Ok(ExecResponse { url: ctx.streams.url(StreamRequest::Exec(req))? })
}

pub(crate) fn attach(ctx: &Context, mut req: AttachRequest) -> Result<AttachResponse, Error> {
    req.container_id = running_container(ctx, &req.container_id)?;
    streams(req.tty, req.stdin, req.stdout, req.stderr)?;
    Ok(AttachResponse { url: ctx.streams.url(StreamRequest::Attach(req))? })
}

pub(crate) fn port_forward(
    ctx: &Context,
    mut req: PortForwardRequest,
) -> Result<PortForwardResponse, Error> {
    let s = ctx
        .sandboxes
        .get(&req.pod_sandbox_id)
        .ok_or_else(|| crate::error::sandbox_not_found(&req.pod_sandbox_id))?;
    if s.status.state != SandboxState::Ready {
        return Err(Error::failed_precondition(format!("pod sandbox {} is not ready", s.meta.id)));
    }
    req.pod_sandbox_id = s.meta.id;
    Ok(PortForwardResponse { url: ctx.streams.url(StreamRequest::PortForward(req))? })
}
