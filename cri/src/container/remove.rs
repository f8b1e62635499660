//! RemoveContainer: a running container is killed first; its task, containerd record,
//! snapshot, files and name go. Removed or unknown is success.

use std::time::Duration;

use crate::api::v1::{RemoveContainerRequest, RemoveContainerResponse};
use crate::error::Error;

use super::persist;
use crate::context::Context;
use crate::error::from_bridge;
use crate::store::containers::{name_key, Container};

async fn remove(ctx: &Context, c: &Container) -> Result<(), Error> {
    let id = &c.meta.id;
    super::stop::stop(ctx, c, Duration::ZERO).await?;
    let cd = &ctx.lifecycle;
    super::remove_task(ctx, id).await.map_err(|e| from_bridge("delete task", e))?;
    // Image volumes go while the record still names them, so a removal cut off anywhere is
    // finished by the next one.
    super::image_volumes::release(ctx, &persist::state_dir(ctx, id), &c.meta.image_volumes).await?;
    cd.delete_container(id).await.map_err(|e| from_bridge("delete container", e))?;
    cd.remove_snapshot(id).await.map_err(|e| from_bridge("remove snapshot", e))?;
    persist::remove_dirs(ctx, id)
        .map_err(|e| Error::internal("remove the container's files", e))?;
    ctx.containers.release_name(&name_key(&c.meta.sandbox_id, &c.meta.name, c.meta.attempt), id);
    ctx.containers.remove(id);
    crate::cri_events::emit(
        ctx,
        id,
        &c.meta.sandbox_id,
        crate::api::v1::ContainerEventType::ContainerDeletedEvent,
    );
    tracing::info!(pod = %c.meta.sandbox_id, container = %id, "container removed");
    Ok(())
}

pub(crate) async fn remove_container(
    ctx: &Context,
    req: RemoveContainerRequest,
) -> Result<RemoveContainerResponse, Error> {
    if let Some(c) = ctx.containers.get(&req.container_id) {
        remove(ctx, &c).await?;
    }
    Ok(RemoveContainerResponse {})
}

/// Removes every container of a pod (RemovePodSandbox).
pub(crate) async fn remove_containers_of(ctx: &Context, sandbox_id: &str) -> Result<(), Error> {
    for c in ctx.containers.in_sandbox(sandbox_id) {
        remove(ctx, &c).await?;
    }
    Ok(())
}
