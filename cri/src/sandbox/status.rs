//! PodSandboxStatus and ListPodSandbox, from memory.

use std::collections::HashMap;

use crate::api::v1::{
    LinuxPodSandboxStatus, ListPodSandboxRequest, ListPodSandboxResponse, Namespace, PodIp,
    PodSandbox, PodSandboxFilter, PodSandboxMetadata, PodSandboxNetworkStatus, PodSandboxState,
    PodSandboxStateValue, PodSandboxStatus, PodSandboxStatusRequest, PodSandboxStatusResponse,
    StreamPodSandboxesRequest, StreamPodSandboxesResponse,
};
use crate::error::Error;
use crate::list_pages::{pages, PageStream};

use crate::context::Context;
use crate::store::sandboxes::{Sandbox, SandboxState};

fn state(s: &Sandbox) -> i32 {
    match s.status.state {
        SandboxState::Ready => PodSandboxState::SandboxReady as i32,
        SandboxState::NotReady => PodSandboxState::SandboxNotready as i32,
    }
}

fn metadata(s: &Sandbox) -> PodSandboxMetadata {
    PodSandboxMetadata {
        name: s.meta.name.clone(),
        uid: s.meta.uid.clone(),
        namespace: s.meta.namespace.clone(),
        attempt: s.meta.attempt,
    }
}

/// The CRI status of `s` (PodSandboxStatus, and the pod's status in container events).
pub(crate) fn cri_status(s: &Sandbox) -> PodSandboxStatus {
    let mut ips = s.status.ips.iter();
    let network = PodSandboxNetworkStatus {
        ip: ips.next().cloned().unwrap_or_default(),
        additional_ips: ips.map(|ip| PodIp { ip: ip.clone() }).collect(),
    };
    let options = s
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|c| c.namespace_options.clone());
    PodSandboxStatus {
        id: s.meta.id.clone(),
        metadata: Some(metadata(s)),
        state: state(s),
        created_at: s.meta.created_at_ns,
        network: Some(network),
        linux: Some(LinuxPodSandboxStatus { namespaces: Some(Namespace { options }) }),
        labels: s.config.labels.clone(),
        annotations: s.config.annotations.clone(),
        runtime_handler: s.meta.runtime_handler.clone(),
    }
}

/// From memory; only `verbose` asks containerd (for the OCI spec), as it is for people, not
/// for kubelet's relist.
pub(crate) async fn pod_sandbox_status(
    ctx: &Context,
    req: PodSandboxStatusRequest,
) -> Result<PodSandboxStatusResponse, Error> {
    let s = ctx
        .sandboxes
        .get(&req.pod_sandbox_id)
        .ok_or_else(|| crate::error::sandbox_not_found(&req.pod_sandbox_id))?;
    let status = cri_status(&s);
    let mut info = HashMap::new();
    if req.verbose {
        let spec = record_spec(ctx, &s.meta.id).await;
        let json = serde_json::json!({
            "pid": s.status.pid,
            "netns": s.meta.netns,
            "ipcns": s.meta.ipcns,
            "utsns": s.meta.utsns,
            "pause": s.meta.pause,
            "cniResult": s.status.cni_result,
            "network": s.status.network,
            "runtimeSpec": spec,
        });
        info.insert("info".to_string(), json.to_string());
    }
    Ok(PodSandboxStatusResponse {
        status: Some(status),
        info,
        containers_statuses: vec![],
        timestamp: 0,
    })
}

/// Whether a list filter selects `s`.
fn selects(filter: &PodSandboxFilter, s: &Sandbox) -> bool {
    s.matches(&filter.id, &filter.label_selector)
        && filter.state.as_ref().is_none_or(|v: &PodSandboxStateValue| v.state == state(s))
}

/// The pods a list filter selects.
fn matching(ctx: &Context, filter: Option<PodSandboxFilter>) -> Vec<Sandbox> {
    let filter = filter.unwrap_or_default();
    ctx.sandboxes.select(|s| selects(&filter, s))
}

fn list_item(s: &Sandbox) -> PodSandbox {
    PodSandbox {
        id: s.meta.id.clone(),
        metadata: Some(metadata(s)),
        state: state(s),
        created_at: s.meta.created_at_ns,
        labels: s.config.labels.clone(),
        annotations: s.config.annotations.clone(),
        runtime_handler: s.meta.runtime_handler.clone(),
    }
}

pub(crate) fn list_pod_sandbox(
    ctx: &Context,
    req: ListPodSandboxRequest,
) -> ListPodSandboxResponse {
    let filter = req.filter.unwrap_or_default();
    ListPodSandboxResponse {
        items: ctx.sandboxes.map(|s| selects(&filter, s).then(|| list_item(s))),
    }
}

pub(crate) fn stream_pod_sandboxes(
    ctx: &Context,
    req: StreamPodSandboxesRequest,
) -> PageStream<StreamPodSandboxesResponse> {
    pages(
        matching(ctx, req.filter),
        |s| Some(list_item(s)),
        |pod_sandboxes| StreamPodSandboxesResponse { pod_sandboxes },
    )
}

/// The OCI spec on containerd's record of `id`, for verbose statuses; null if unreadable.
pub(crate) async fn record_spec(ctx: &Context, id: &str) -> serde_json::Value {
    match ctx.lifecycle.get_container(id).await {
        Ok(Some(c)) => {
            c.spec.and_then(|any| serde_json::from_slice(&any.value).ok()).unwrap_or_default()
        }
        _ => serde_json::Value::Null,
    }
}
