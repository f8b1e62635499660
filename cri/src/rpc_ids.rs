//! Puts the pod and container IDs a CRI request names on the call's span (opened per RPC by
//! the server), so that every log line of the call carries them.

use crate::api::v1::*;

use crate::context::Context;

pub(crate) trait RequestIds {
    fn pod_id(&self) -> &str {
        ""
    }
    fn container_id(&self) -> &str {
        ""
    }
}

macro_rules! pod_requests {
    ($($t:ty),*) => { $(impl RequestIds for $t { fn pod_id(&self) -> &str { &self.pod_sandbox_id } })* };
}
macro_rules! container_requests {
    ($($t:ty),*) => { $(impl RequestIds for $t { fn container_id(&self) -> &str { &self.container_id } })* };
}

pod_requests!(
    StopPodSandboxRequest,
    RemovePodSandboxRequest,
    PodSandboxStatusRequest,
    PodSandboxStatsRequest,
    UpdatePodSandboxResourcesRequest,
    PortForwardRequest,
    CheckpointPodRequest,
    CreateContainerRequest
);
container_requests!(
    StartContainerRequest,
    StopContainerRequest,
    RemoveContainerRequest,
    ContainerStatusRequest,
    UpdateContainerResourcesRequest,
    ExecSyncRequest,
    ExecRequest,
    AttachRequest,
    ContainerStatsRequest,
    ReopenContainerLogRequest,
    CheckpointContainerRequest
);

/// Records the request's IDs; a container's pod is looked up.
pub(crate) fn record(ctx: &Context, req: &impl RequestIds) {
    let span = tracing::Span::current();
    let container = req.container_id();
    if !container.is_empty() {
        span.record("container", container);
        ctx.containers.read(container, |c| span.record("pod", c.meta.sandbox_id.as_str()));
    }
    if !req.pod_id().is_empty() {
        span.record("pod", req.pod_id());
    }
}

/// Records an ID made by the call itself (RunPodSandbox, CreateContainer).
pub(crate) fn record_new(field: &'static str, id: &str) {
    tracing::Span::current().record(field, id);
}
