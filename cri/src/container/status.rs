//! ContainerStatus and ListContainers, answered from the store.

use crate::error::Error;
use std::collections::HashMap;

use crate::api::v1::{
    ContainerFilter, ContainerMetadata as CriMetadata, ContainerResources,
    ContainerState as CriState, ContainerStatus as CriStatus, ContainerStatusRequest,
    ContainerStatusResponse, ContainerUser, ImageSpec, LinuxContainerUser, ListContainersRequest,
    ListContainersResponse, StreamContainersRequest, StreamContainersResponse,
};
use crate::list_pages::{pages, PageStream};

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
        return ImageSpec { image, image_ref: c.meta.image_id.clone(), ..Default::default() };
    };
    ImageSpec {
        image,
        annotations: configured.annotations.clone(),
        user_specified_image: configured.user_specified_image.clone(),
        runtime_handler: configured.runtime_handler.clone(),
        image_ref: c.meta.image_id.clone(),
    }
}

/// The CRI status of `c` (ContainerStatus, and the statuses in container events).
pub(crate) fn cri_status(ctx: &Context, c: &Container) -> CriStatus {
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
        mounts: super::image_volumes::status_mounts(&c.config, &c.meta.image_volumes),
        log_path: c.meta.log_path.clone(),
        resources: c
            .resources()
            .map(|linux| ContainerResources { linux: Some(linux), windows: None }),
        stop_signal: super::stop_signal::to_cri(super::stop_signal::effective(ctx, c)) as i32,
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
) -> Result<ContainerStatusResponse, Error> {
    let c = ctx
        .containers
        .get(&req.container_id)
        .ok_or_else(|| crate::error::container_not_found(&req.container_id))?;
    let s = &c.status;
    let status = cri_status(ctx, &c);
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

/// Whether a list filter selects `c`.
fn selects(f: &ContainerFilter, c: &Container) -> bool {
    c.matches(&f.id, &f.pod_sandbox_id, &f.label_selector)
        && f.state.as_ref().is_none_or(|v| v.state == state(c))
}

/// The containers a list filter selects.
fn matching(ctx: &Context, filter: Option<ContainerFilter>) -> Vec<Container> {
    let f = filter.unwrap_or_default();
    ctx.containers.select(|c| selects(&f, c))
}

fn list_item(c: &Container) -> crate::api::v1::Container {
    crate::api::v1::Container {
        id: c.meta.id.clone(),
        pod_sandbox_id: c.meta.sandbox_id.clone(),
        metadata: Some(metadata(c)),
        image: Some(image(c)),
        image_ref: c.meta.image_id.clone(),
        image_id: c.meta.image_id.clone(),
        state: state(c),
        created_at: c.meta.created_at_ns,
        labels: c.config.labels.clone(),
        annotations: c.config.annotations.clone(),
    }
}

pub(crate) fn list_containers(ctx: &Context, req: ListContainersRequest) -> ListContainersResponse {
    let f = req.filter.unwrap_or_default();
    ListContainersResponse {
        containers: ctx.containers.map(|c| selects(&f, c).then(|| list_item(c))),
    }
}

pub(crate) fn stream_containers(
    ctx: &Context,
    req: StreamContainersRequest,
) -> PageStream<StreamContainersResponse> {
    pages(
        matching(ctx, req.filter),
        |c| Some(list_item(c)),
        |containers| StreamContainersResponse { containers },
    )
}
