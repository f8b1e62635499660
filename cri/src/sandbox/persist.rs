//! Where a sandbox's state lives (docs/state.md): metadata on the containerd container as an
//! extension, the status in `root_dir/sandboxes/<id>/status.json`, written atomically.

use std::path::PathBuf;

use prost_types::Any;

use crate::context::Context;
use crate::store::sandboxes::{SandboxMetadata, SandboxStatus};
use crate::store::{extension, status_file};

/// The extension's type URL (its value is the metadata as JSON).
const METADATA_TYPE_URL: &str = "cricket.dev/SandboxMetadata/v1";

pub fn dir(ctx: &Context, id: &str) -> PathBuf {
    ctx.config.root_dir.join("sandboxes").join(id)
}

/// Persists the pod's status: the store's, once the pod is in it (whichever writer comes last
/// writes the newest), else `status`.
pub fn save_status(ctx: &Context, id: &str, status: &SandboxStatus) -> std::io::Result<()> {
    let newest = || ctx.sandboxes.read(id, |s| s.status.clone()).unwrap_or_else(|| status.clone());
    status_file::save(&dir(ctx, id).join("status.json"), id, newest)
}

pub fn load_status(ctx: &Context, id: &str) -> Option<SandboxStatus> {
    status_file::load(&dir(ctx, id).join("status.json"))
}

pub fn metadata_extension(meta: &SandboxMetadata) -> Any {
    extension::encode(METADATA_TYPE_URL, meta)
}

pub fn decode_metadata(any: &Any) -> Option<SandboxMetadata> {
    extension::decode(METADATA_TYPE_URL, any)
}
