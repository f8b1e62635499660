//! Every label and annotation key cricket writes onto containerd objects. Nothing else in the
//! code base spells these strings; see docs/state.md for what each one means.

/// On image records cricket created: marks them as cricket's.
pub const IMAGE_MANAGED: &str = "io.cricket.image";
pub const IMAGE_MANAGED_VALUE: &str = "managed";

/// On image records kubelet's image GC must never remove (the sandbox image).
pub const IMAGE_PINNED: &str = "io.cricket.pinned";
pub const IMAGE_PINNED_VALUE: &str = "pinned";
