//! RemoveContainer: a running container is killed first; its task, containerd record,
//! snapshot, files and name go. Removed or unknown is success.

use std::time::Duration;

use k8s_cri::v1::{RemoveContainerRequest, RemoveContainerResponse};
use tonic::Status;

use super::persist;
use crate::context::Context;
use crate::errors::from_bridge;
use crate::store::containers::{name_key, Container};

async fn remove(ctx: &Context, c: &Container) -> Result<(), Status> {
    let id = &c.meta.id;
    super::stop::stop(ctx, c, Duration::ZERO).await?;
    let cd = &ctx.containerd;
    super::remove_task(ctx, id).await.map_err(|e| from_bridge("delete task", e))?;
    cd.delete_container(id).await.map_err(|e| from_bridge("delete container", e))?;
    cd.remove_snapshot(id).await.map_err(|e| from_bridge("remove snapshot", e))?;
    persist::remove_dirs(ctx, id)
        .map_err(|e| Status::internal(format!("remove the container's files: {e}")))?;
    ctx.containers.release_name(&name_key(&c.meta.sandbox_id, &c.meta.name, c.meta.attempt), id);
    ctx.containers.remove(id);
    crate::cri_events::emit(
        ctx,
        id,
        &c.meta.sandbox_id,
        k8s_cri::v1::ContainerEventType::ContainerDeletedEvent,
    );
    tracing::info!(pod = %c.meta.sandbox_id, container = %id, "container removed");
    Ok(())
}

pub(crate) async fn remove_container(
    ctx: &Context,
    req: RemoveContainerRequest,
) -> Result<RemoveContainerResponse, Status> {
    if let Some(c) = ctx.containers.get(&req.container_id) {
        remove(ctx, &c).await?;
    }
    Ok(RemoveContainerResponse {})
}

/// Removes every container of a pod (RemovePodSandbox).
pub(crate) async fn remove_containers_of(ctx: &Context, sandbox_id: &str) -> Result<(), Status> {
    for c in ctx.containers.in_sandbox(sandbox_id) {
        remove(ctx, &c).await?;
    }
    Ok(())
}
