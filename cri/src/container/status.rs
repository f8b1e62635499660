//! ContainerStatus and ListContainers, answered from the store; ReopenContainerLog.

use std::collections::HashMap;

use k8s_cri::v1::{
    ContainerMetadata as CriMetadata, ContainerResources, ContainerState as CriState,
    ContainerStatus as CriStatus, ContainerStatusRequest, ContainerStatusResponse, ContainerUser,
    ImageSpec, LinuxContainerUser, ListContainersRequest, ListContainersResponse,
    ReopenContainerLogRequest, ReopenContainerLogResponse,
};
use tonic::Status;

use super::persist;
use crate::context::Context;
use crate::store::containers::{Container, ContainerState};

fn state(c: &Container) -> i32 {
    (match c.status.state {
        ContainerState::Created => CriState::ContainerCreated,
        ContainerState::Running => CriState::ContainerRunning,
        ContainerState::Exited => CriState::ContainerExited,
        ContainerState::Unknown => CriState::ContainerUnknown,
    }) as i32
}

fn metadata(c: &Container) -> CriMetadata {
    CriMetadata { name: c.meta.name.clone(), attempt: c.meta.attempt }
}

/// The image by its tag, as containerd answers (kubelet creates containers by image ID and
/// shows this as the pod's container image); by the created-with reference when untagged.
fn image(c: &Container) -> ImageSpec {
    let image = if c.meta.image_name.is_empty() {
        c.meta.image_ref.clone()
    } else {
        c.meta.image_name.clone()
    };
    // Field by field: the configured reference is replaced, so it is not cloned.
    let Some(configured) = c.config.image.as_ref() else {
        return ImageSpec { image, ..Default::default() };
    };
    ImageSpec {
        image,
        annotations: configured.annotations.clone(),
        user_specified_image: configured.user_specified_image.clone(),
        runtime_handler: configured.runtime_handler.clone(),
    }
}

/// The CRI status of `c` (ContainerStatus, and the statuses in container events).
pub(crate) fn cri_status(c: &Container) -> CriStatus {
    let s = &c.status;
    CriStatus {
        id: c.meta.id.clone(),
        metadata: Some(metadata(c)),
        state: state(c),
        created_at: c.meta.created_at_ns,
        started_at: s.started_at_ns,
        finished_at: s.finished_at_ns,
        exit_code: s.exit_code,
        image: Some(image(c)),
        image_ref: c.meta.image_id.clone(),
        image_id: c.meta.image_id.clone(),
        reason: s.reason.clone(),
        message: s.message.clone(),
        labels: c.config.labels.clone(),
        annotations: c.config.annotations.clone(),
        mounts: c.config.mounts.clone(),
        log_path: c.meta.log_path.clone(),
        resources: c
            .resources()
            .map(|linux| ContainerResources { linux: Some(linux), windows: None }),
        user: c.meta.user.as_ref().map(|u| ContainerUser {
            linux: Some(LinuxContainerUser {
                uid: i64::from(u.uid),
                gid: i64::from(u.gid),
                supplemental_groups: u.groups.iter().map(|g| i64::from(*g)).collect(),
            }),
        }),
    }
}

/// From memory; only `verbose` asks containerd (for the OCI spec).
pub(crate) async fn container_status(
    ctx: &Context,
    req: ContainerStatusRequest,
) -> Result<ContainerStatusResponse, Status> {
    let c = ctx
        .containers
        .get(&req.container_id)
        .ok_or_else(|| crate::errors::container_not_found(&req.container_id))?;
    let s = &c.status;
    let status = cri_status(&c);
    let mut info = HashMap::new();
    if req.verbose {
        let spec = crate::sandbox::record_spec(ctx, &c.meta.id).await;
        let json = serde_json::json!({
            "pid": s.pid,
            "sandboxID": c.meta.sandbox_id,
            "imageName": c.meta.image_name,
            "runtimeSpec": spec,
        });
        info.insert("info".to_string(), json.to_string());
    }
    Ok(ContainerStatusResponse { status: Some(status), info })
}

pub(crate) fn list_containers(ctx: &Context, req: ListContainersRequest) -> ListContainersResponse {
    let f = req.filter.unwrap_or_default();
    let containers = ctx
        .containers
        .list()
        .into_iter()
        .filter(|c| c.matches(&f.id, &f.pod_sandbox_id, &f.label_selector))
        .filter(|c| f.state.as_ref().is_none_or(|v| v.state == state(c)))
        .map(|c| k8s_cri::v1::Container {
            id: c.meta.id.clone(),
            pod_sandbox_id: c.meta.sandbox_id.clone(),
            metadata: Some(metadata(&c)),
            image: Some(image(&c)),
            image_ref: c.meta.image_id.clone(),
            image_id: c.meta.image_id.clone(),
            state: state(&c),
            created_at: c.meta.created_at_ns,
            labels: c.config.labels.clone(),
            annotations: c.config.annotations.clone(),
        })
        .collect();
    ListContainersResponse { containers }
}

pub(crate) async fn reopen_container_log(
    ctx: &Context,
    req: ReopenContainerLogRequest,
) -> Result<ReopenContainerLogResponse, Status> {
    let c = ctx
        .containers
        .get(&req.container_id)
        .ok_or_else(|| crate::errors::container_not_found(&req.container_id))?;
    if c.status.state != ContainerState::Running {
        return Err(Status::failed_precondition(format!("container {} is not running", c.meta.id)));
    }
    if !c.meta.log_path.is_empty() {
        let within = std::time::Duration::from_secs(5);
        crate::logs::reopen(
            &persist::logger_pidfile(ctx, &c.meta.id),
            std::path::Path::new(&c.meta.log_path),
            within,
        )
        .await
        .map_err(|e| Status::internal(format!("reopen the log of {}: {e}", c.meta.id)))?;
        tracing::info!(log = %c.meta.log_path, "container log reopened");
    }
    Ok(ReopenContainerLogResponse {})
}
