//! RemovePodSandbox: stopped first if needed, then the containerd container, its snapshot, its
//! files and its name. A removed or unknown sandbox is success.

use crate::api::v1::{RemovePodSandboxRequest, RemovePodSandboxResponse, StopPodSandboxRequest};
use crate::error::Error;

use super::persist;
use crate::context::Context;
use crate::error::from_bridge;
use crate::store::sandboxes::{name_key, SandboxState};

pub(crate) async fn remove_pod_sandbox(
    ctx: &Context,
    req: RemovePodSandboxRequest,
) -> Result<RemovePodSandboxResponse, Error> {
    let Some(sandbox) = ctx.sandboxes.get(&req.pod_sandbox_id) else {
        return Ok(RemovePodSandboxResponse {});
    };
    let id = sandbox.meta.id.clone();
    if sandbox.status.state == SandboxState::Ready || sandbox.meta.pins().next().is_some() {
        super::stop_pod_sandbox(ctx, StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await?;
    }
    crate::container::remove_containers_of(ctx, &id).await?;
    let c = &ctx.lifecycle;
    crate::container::remove_task(ctx, &id).await.map_err(|e| from_bridge("delete task", e))?;
    c.delete_container(&id).await.map_err(|e| from_bridge("delete container", e))?;
    if sandbox.meta.pause {
        crate::adapters::shim_sweep::settle_removed_pod_shim(ctx, &id).await;
    }
    c.remove_snapshot(&id).await.map_err(|e| from_bridge("remove snapshot", e))?;
    let dir = persist::dir(ctx, &id);
    super::shm::unmount(&super::shm::path(&dir))
        .await
        .map_err(|e| Error::internal("unmount /dev/shm", e))?;
    if let Err(e) = crate::sys::blocking::run(|| std::fs::remove_dir_all(&dir)) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(Error::internal(format!("remove {}", dir.display()), e));
        }
    }
    let m = &sandbox.meta;
    ctx.sandboxes.release_name(&name_key(&m.name, &m.namespace, &m.uid, m.attempt), &id);
    ctx.sandboxes.remove(&id);
    ctx.shim_turns.forget(&id);
    crate::cri_events::emit(
        ctx,
        &id,
        &id,
        crate::api::v1::ContainerEventType::ContainerDeletedEvent,
    );
    tracing::info!(pod = %id, "pod sandbox removed");
    Ok(RemovePodSandboxResponse {})
}
