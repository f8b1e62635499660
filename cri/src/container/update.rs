//! UpdateContainerResources: the new values are merged over those in force (zero keeps), written
//! into the spec on containerd's record (so a later start, and a restart, use them), applied
//! to a running task's cgroup, and persisted for ContainerStatus. A task that refuses them
//! leaves the record as it was.

use crate::api::v1::{UpdateContainerResourcesRequest, UpdateContainerResourcesResponse};
use crate::error::Error;
use base64::Engine;
use oci_spec::runtime::Spec;
use prost::Message;

use super::persist;
use crate::context::Context;
use crate::error::from_bridge;
use crate::spec::resources::{merge, set_resources};
use crate::store::containers::ContainerState;

pub(crate) async fn update_container_resources(
    ctx: &Context,
    req: UpdateContainerResourcesRequest,
) -> Result<UpdateContainerResourcesResponse, Error> {
    let id = &req.container_id;
    let c = ctx.containers.get(id).ok_or_else(|| crate::error::container_not_found(id))?;
    let update = req
        .linux
        .ok_or_else(|| Error::invalid("linux", "missing (only Linux resources are supported)"))?;
    if !matches!(c.status.state, ContainerState::Created | ContainerState::Running) {
        return Err(Error::failed_precondition(format!(
            "container {id} is {:?}; only created or running containers can be updated",
            c.status.state
        )));
    }
    let merged = merge(&c.resources().unwrap_or_default(), &update);

    let cd = &ctx.lifecycle;
    let record = cd
        .get_container(id)
        .await
        .map_err(|e| from_bridge("get container", e))?
        .ok_or_else(|| Error::not_found(format!("container {id} has no containerd record")))?;
    let old_spec = record.spec.map(|any| any.value).unwrap_or_default();
    let mut spec: Spec = serde_json::from_slice(&old_spec)
        .map_err(|e| Error::internal(format!("the recorded spec of {id}"), e))?;
    set_resources(&mut spec, &merged, ctx.hugetlb)
        .map_err(|e| Error::invalid("linux", format!("{e}")))?;
    let resources = spec.linux().as_ref().and_then(|l| l.resources().clone()).unwrap_or_default();
    cd.update_container_spec(id, serde_json::to_vec(&spec).expect("serialisable"))
        .await
        .map_err(|e| from_bridge("update container", e))?;
    if cd
        .task_status(id)
        .await
        .map_err(|e| from_bridge("task status", e))?
        .is_some_and(|(_, running)| running)
    {
        if let Err(e) = cd
            .update_task_resources(id, serde_json::to_vec(&resources).expect("serialisable"))
            .await
        {
            let _ = cd.update_container_spec(id, old_spec).await;
            return Err(from_bridge("update the task's resources", e));
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(merged.encode_to_vec());
    if let Some(status) = ctx.containers.update(id, |s| s.resources = encoded) {
        persist::save_status(ctx, id, &status).map_err(|e| Error::internal("persist status", e))?;
    }
    tracing::info!(pod = %c.meta.sandbox_id, container = %id, "container resources updated");
    Ok(UpdateContainerResourcesResponse {})
}
