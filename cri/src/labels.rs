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
