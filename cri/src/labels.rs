//! Every label and annotation key cricket writes onto containerd objects. Nothing else in the
//! code base spells these strings; see docs/state.md for what each one means.

/// On image records cricket created: marks them as cricket's.
pub const IMAGE_MANAGED: &str = "io.cricket.image";
pub const IMAGE_MANAGED_VALUE: &str = "managed";

/// On image records kubelet's image GC must never remove (the sandbox image).
pub const IMAGE_PINNED: &str = "io.cricket.pinned";
pub const IMAGE_PINNED_VALUE: &str = "pinned";

/// On containerd containers: `sandbox` or `container` (docs/state.md).
pub const KIND: &str = "io.cricket.kind";
pub const KIND_SANDBOX: &str = "sandbox";
pub const KIND_CONTAINER: &str = "container";

/// On containerd containers of kind `container`: the ID of their pod sandbox.
pub const SANDBOX_ID: &str = "io.cricket.sandbox-id";

/// On containerd containers: the schema version of the metadata extension.
pub const METADATA_VERSION: &str = "io.cricket.version";

/// The containerd container extension that holds cricket's immutable metadata.
pub const METADATA_EXTENSION: &str = "io.cricket.metadata";

/// OCI annotations that shims (kata, gVisor, the runc shim's grouping) read.
pub mod cri_annotations {
    pub const CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
    pub const CONTAINER_TYPE_SANDBOX: &str = "sandbox";
    pub const CONTAINER_TYPE_CONTAINER: &str = "container";
    pub const SANDBOX_ID: &str = "io.kubernetes.cri.sandbox-id";
    pub const CONTAINER_NAME: &str = "io.kubernetes.cri.container-name";
    pub const SANDBOX_NAME: &str = "io.kubernetes.cri.sandbox-name";
    pub const SANDBOX_NAMESPACE: &str = "io.kubernetes.cri.sandbox-namespace";
    pub const SANDBOX_UID: &str = "io.kubernetes.cri.sandbox-uid";
    pub const SANDBOX_LOG_DIRECTORY: &str = "io.kubernetes.cri.sandbox-log-directory";
    pub const IMAGE_NAME: &str = "io.kubernetes.cri.image-name";
    pub const SANDBOX_CPU_PERIOD: &str = "io.kubernetes.cri.sandbox-cpu-period";
    pub const SANDBOX_CPU_QUOTA: &str = "io.kubernetes.cri.sandbox-cpu-quota";
    pub const SANDBOX_CPU_SHARES: &str = "io.kubernetes.cri.sandbox-cpu-shares";
    pub const SANDBOX_MEMORY: &str = "io.kubernetes.cri.sandbox-memory";
}
