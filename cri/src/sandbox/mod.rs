//! Pod sandboxes: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus and
//! ListPodSandbox over the sandbox store, and their recovery after a restart.

mod checkpoint;
#[cfg(test)]
mod checkpoint_tests;
mod files;
mod handler;
#[cfg(test)]
mod lifecycle_tests;
pub use handler::{runs_path_runc, RUNC_SHIM};
mod network;
pub mod persist;
mod recover;
mod remove;
mod restore;
mod run;
mod shm;
mod status;
#[cfg(test)]
mod status_tests;
mod stop;
mod update_resources;
pub(crate) mod userns;

pub(crate) use checkpoint::checkpoint_pod;
pub use recover::recover;
pub(crate) use remove::remove_pod_sandbox;
pub(crate) use restore::restore_pod;
pub(crate) use run::run_pod_sandbox;
pub(crate) use status::{
    cri_status, list_pod_sandbox, pod_sandbox_status, record_spec, stream_pod_sandboxes,
};
pub(crate) use stop::stop_pod_sandbox;
pub(crate) use update_resources::update_pod_sandbox_resources;

/// The containerd label that marks a container as a sandbox.
/// The pod sandbox `id`, which must exist (NotFound) and be ready (FailedPrecondition).
pub(crate) fn ready_sandbox(
    ctx: &crate::context::Context,
    id: &str,
) -> Result<crate::store::sandboxes::Sandbox, crate::error::Error> {
    let sandbox = ctx.sandboxes.get(id).ok_or_else(|| crate::error::sandbox_not_found(id))?;
    if sandbox.status.state != crate::store::sandboxes::SandboxState::Ready {
        let message = format!("pod sandbox {} is not ready", sandbox.meta.id);
        return Err(crate::error::Error::failed_precondition(message));
    }
    Ok(sandbox)
}

pub(crate) fn sandbox_filter() -> String {
    format!("labels.\"{}\"=={}", crate::labels::KIND, crate::labels::KIND_SANDBOX)
}

/// The pod's /etc files under its directory.
pub(crate) fn etc_file_paths(sandbox_dir: &std::path::Path) -> crate::spec::EtcFiles {
    files::paths(sandbox_dir)
}

/// The pod's own /dev/shm, unless it uses the node's IPC namespace.
pub(crate) fn pod_shm(
    sandbox_dir: &std::path::Path,
    config: &crate::api::v1::PodSandboxConfig,
) -> Option<std::path::PathBuf> {
    let ns = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or_default();
    (ns.ipc != crate::api::v1::NamespaceMode::Node as i32).then(|| shm::path(sandbox_dir))
}

/// The shim type and options of the pod's handler, for its containers.
pub(crate) fn runtime_type(ctx: &crate::context::Context, handler_name: &str) -> String {
    handler::handler(ctx, handler_name)
        .map(|h| h.runtime_type.clone())
        .unwrap_or_else(|_| handler::RUNC_SHIM.into())
}

pub(crate) fn runtime_options(
    ctx: &crate::context::Context,
    handler_name: &str,
) -> Option<prost_types::Any> {
    handler::handler(ctx, handler_name).ok().and_then(|h| handler::runtime_options(ctx, h))
}
