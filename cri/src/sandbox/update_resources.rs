//! UpdatePodSandboxResources (CRI 1.33): kubelet tells the runtime a pod's new pod-level
//! resources after resizing it in place. The pod-level cgroup (`kubepods/.../pod<uid>`) is
//! kubelet's: kubelet creates it, names it in `cgroup_parent` and writes its limits itself,
//! and each container's own cgroup is resized by UpdateContainerResources. cricket owns no
//! cgroup the pod-level figures apply to, so it checks the pod and records the call.

use crate::api::v1::{UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse};
use crate::context::Context;
use crate::error::Error;

pub(crate) fn update_pod_sandbox_resources(
    ctx: &Context,
    req: UpdatePodSandboxResourcesRequest,
) -> Result<UpdatePodSandboxResourcesResponse, Error> {
    let pod = ctx
        .sandboxes
        .get(&req.pod_sandbox_id)
        .ok_or_else(|| crate::error::sandbox_not_found(&req.pod_sandbox_id))?;
    let parent = pod.config.linux.as_ref().map(|l| l.cgroup_parent.as_str()).unwrap_or_default();
    let resources = req.resources.unwrap_or_default();
    tracing::info!(
        pod = %pod.meta.id,
        cgroup_parent = parent,
        cpu_quota = resources.cpu_quota,
        cpu_shares = resources.cpu_shares,
        memory_limit = resources.memory_limit_in_bytes,
        "pod-level resources changed; the pod cgroup is kubelet's, the containers' are resized one by one"
    );
    Ok(UpdatePodSandboxResourcesResponse {})
}
