//! Building OCI runtime specs, one step per concern (after containerd's `opts/`): defaults,
//! namespaces, sysctls, process and security, cgroups, annotations. Each step edits a `Spec`;
//! `sandbox.rs` composes them for a pod's pause container, `container.rs` for a container.

mod capabilities;
mod cdi_edits;
mod cgroups;
mod container;
mod defaults;
mod devices;
mod identity;
mod image_config;
pub mod lsm;
mod mounts;
mod namespaces;
mod process;
pub mod resources;
mod sandbox;
mod seccomp;
mod shm;
mod sysctls;
mod user_mounts;

pub use cdi_edits::{apply as apply_cdi_edits, CdiEdits, HookPoint};
pub use cgroups::{cgroups_path, hugetlb_controller_present};
pub use container::{container_spec, ContainerSpecOptions, PidMode, PodNamespacePaths};
pub use identity::ImageUsers;
pub use image_config::ImageProcess;
pub use mounts::EtcFiles;
pub use namespaces::UserNamespace;
pub use sandbox::{sandbox_spec, SandboxSpecOptions};

/// A spec that cannot be built from the request, naming the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    #[error("building the OCI spec: {0}")]
    Build(String),
}

impl SpecError {
    pub(crate) fn invalid(field: &str, detail: impl Into<String>) -> SpecError {
        SpecError::Invalid { field: field.into(), detail: detail.into() }
    }
}

impl From<oci_spec::OciSpecError> for SpecError {
    fn from(e: oci_spec::OciSpecError) -> Self {
        SpecError::Build(e.to_string())
    }
}

/// The spec's process, which every spec cricket builds has (the default spec starts with one).
pub(crate) fn process_of(spec: &mut oci_spec::runtime::Spec) -> &mut oci_spec::runtime::Process {
    spec.process_mut().get_or_insert_with(Default::default)
}
