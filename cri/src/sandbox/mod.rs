//! Pod sandboxes: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus and
//! ListPodSandbox over the sandbox store, and their recovery after a restart.

mod files;
mod network;
pub mod persist;
mod recover;
mod remove;
mod run;
mod shm;
mod status;
mod stop;

pub use recover::recover;
pub(crate) use remove::remove_pod_sandbox;
pub(crate) use run::run_pod_sandbox;
pub(crate) use status::{list_pod_sandbox, pod_sandbox_status};
pub(crate) use stop::stop_pod_sandbox;

/// The containerd label that marks a container as a sandbox.
pub(crate) fn sandbox_filter() -> String {
    format!("labels.\"{}\"=={}", crate::labels::KIND, crate::labels::KIND_SANDBOX)
}
