//! Exec, Attach and PortForward: the request is checked against the stores now, so that a bad
//! one fails here with a clear status rather than after the client connected.

use k8s_cri::v1::{
    AttachRequest, AttachResponse, ExecRequest, ExecResponse, PortForwardRequest,
    PortForwardResponse,
};
use tonic::Status;

use super::StreamRequest;
use crate::context::Context;
use crate::store::containers::ContainerState;
use crate::store::sandboxes::SandboxState;

/// The full ID of a running container.
fn running_container(ctx: &Context, id: &str) -> Result<String, Status> {
    let c = ctx.containers.get(id).ok_or_else(|| crate::errors::container_not_found(id))?;
    if c.status.state != ContainerState::Running {
        return Err(Status::failed_precondition(format!("container {} is not running", c.meta.id)));
    }
    Ok(c.meta.id)
}

fn streams(tty: bool, stdin: bool, stdout: bool, stderr: bool) -> Result<(), Status> {
    if tty && stderr {
        return Err(Status::invalid_argument(
            "tty and stderr: a terminal has one output stream; ask for stdout only",
        ));
    }
    if !(stdin || stdout || stderr) {
        return Err(Status::invalid_argument(
            "stdin, stdout, stderr: at least one stream is needed",
        ));
    }
    Ok(())
}

pub(crate) fn exec(ctx: &Context, mut req: ExecRequest) -> Result<ExecResponse, Status> {
    req.container_id = running_container(ctx, &req.container_id)?;
    if req.cmd.first().is_none_or(|c| c.is_empty()) {
        return Err(Status::invalid_argument("cmd: empty"));
    }
    streams(req.tty, req.stdin, req.stdout, req.stderr)?;
    Ok(ExecResponse { url: ctx.streams.url(StreamRequest::Exec(req))? })
}

pub(crate) fn attach(ctx: &Context, mut req: AttachRequest) -> Result<AttachResponse, Status> {
    req.container_id = running_container(ctx, &req.container_id)?;
    streams(req.tty, req.stdin, req.stdout, req.stderr)?;
    Ok(AttachResponse { url: ctx.streams.url(StreamRequest::Attach(req))? })
}

pub(crate) fn port_forward(
    ctx: &Context,
    mut req: PortForwardRequest,
) -> Result<PortForwardResponse, Status> {
    let s = ctx
        .sandboxes
        .get(&req.pod_sandbox_id)
        .ok_or_else(|| crate::errors::sandbox_not_found(&req.pod_sandbox_id))?;
    if s.status.state != SandboxState::Ready {
        return Err(Status::failed_precondition(format!("pod sandbox {} is not ready", s.meta.id)));
    }
    req.pod_sandbox_id = s.meta.id;
    Ok(PortForwardResponse { url: ctx.streams.url(StreamRequest::PortForward(req))? })
}
