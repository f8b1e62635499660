//! StopPodSandbox: the pause task (if any) goes, the network is detached (retried; a DEL that
//! keeps failing is reported so kubelet calls again), the namespaces are unpinned. Idempotent.

use crate::api::v1::{StopPodSandboxRequest, StopPodSandboxResponse};
use crate::error::Error;

use super::network::{detach, runtime_conf};
use super::persist;
use crate::context::Context;
use crate::error::from_bridge;
use crate::store::sandboxes::SandboxState;

pub(crate) async fn stop_pod_sandbox(
    ctx: &Context,
    req: StopPodSandboxRequest,
) -> Result<StopPodSandboxResponse, Error> {
    // A pod the runtime does not know is stopped: the CRI makes Stop idempotent.
    let Some(sandbox) = ctx.sandboxes.get(&req.pod_sandbox_id) else {
        tracing::debug!(pod = %req.pod_sandbox_id, "StopPodSandbox of an unknown pod: nothing to stop");
        return Ok(StopPodSandboxResponse {});
    };
    let id = sandbox.meta.id.clone();
    crate::container::stop_containers_of(ctx, &id).await?;
    // The task and the network are independent: tear both down at once (the DEL needs only
    // the netns, which is unpinned after both).
    let task = async {
        if !sandbox.meta.pause {
            return Ok(());
        }
        crate::container::remove_task(ctx, &id)
            .await
            .map_err(|e| from_bridge("remove the pause task", e))
    };
    let network = async {
        if sandbox.status.network.is_empty() {
            return Ok(());
        }
        let rc = runtime_conf(&id, &sandbox.meta.netns, &sandbox.config);
        detach(ctx, &sandbox.status.network, &rc)
            .await
            .map_err(|e| Error::unavailable(format!("CNI DEL for {id}: {e}")))
    };
    let (task, network) = tokio::join!(task, network);
    task?;
    network?;
    for pin in sandbox.meta.pins() {
        crate::adapters::namespace_pins::unpin(&ctx.namespaces, pin.as_ref())
            .await
            .map_err(|e| Error::internal(format!("unpin {pin}"), e))?;
    }
    let shm = super::shm::path(&persist::dir(ctx, &id));
    super::shm::unmount(&shm).await.map_err(|e| Error::internal("unmount /dev/shm", e))?;
    if let Some(status) = ctx.sandboxes.update(&id, |s| {
        s.state = SandboxState::NotReady;
        s.pid = 0;
    }) {
        persist::save_status(ctx, &id, &status)
            .map_err(|e| Error::internal("persist status", e))?;
    }
    if sandbox.status.state == SandboxState::Ready {
        crate::cri_events::emit(
            ctx,
            &id,
            &id,
            crate::api::v1::ContainerEventType::ContainerStoppedEvent,
        );
    }
    tracing::info!(pod = %id, "pod sandbox stopped");
    Ok(StopPodSandboxResponse {})
}
