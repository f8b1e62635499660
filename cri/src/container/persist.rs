//! Where a container's state lives (docs/state.md): metadata on the containerd container as an
//! extension, the status in `root_dir/containers/<id>/status.json`, written atomically; the
//! logger's PID file under `state_dir/containers/<id>/`.

use std::path::PathBuf;

use prost_types::Any;

use crate::context::Context;
use crate::store::containers::{ContainerMetadata, ContainerStatus};
use crate::store::{extension, status_file};

const METADATA_TYPE_URL: &str = "cricket.dev/ContainerMetadata/v1";

pub fn dir(ctx: &Context, id: &str) -> PathBuf {
    ctx.config.root_dir.join("containers").join(id)
}

pub fn state_dir(ctx: &Context, id: &str) -> PathBuf {
    ctx.config.state_dir.join("containers").join(id)
}

pub fn logger_pidfile(ctx: &Context, id: &str) -> PathBuf {
    state_dir(ctx, id).join("logger.pid")
}

/// The socket `cricket-logger` serves the container's output on, for attach. Kept short:
/// a unix socket path has at most 107 bytes.
pub fn attach_socket(ctx: &Context, id: &str) -> PathBuf {
    ctx.config.state_dir.join("a").join(id)
}

/// The FIFO the container's stdin is read from (attach writes to it).
pub fn stdin_fifo(ctx: &Context, id: &str) -> PathBuf {
    state_dir(ctx, id).join("stdin")
}

/// Persists the container's status: the store's, once the container is in it (whichever
/// writer comes last writes the newest), else `status`.
pub fn save_status(ctx: &Context, id: &str, status: &ContainerStatus) -> std::io::Result<()> {
    let newest = || ctx.containers.read(id, |c| c.status.clone()).unwrap_or_else(|| status.clone());
    status_file::save(&dir(ctx, id).join("status.json"), id, newest)
}

pub fn load_status(ctx: &Context, id: &str) -> Option<ContainerStatus> {
    status_file::load(&dir(ctx, id).join("status.json"))
}

pub fn metadata_extension(meta: &ContainerMetadata) -> Any {
    extension::encode(METADATA_TYPE_URL, meta)
}

pub fn decode_metadata(any: &Any) -> Option<ContainerMetadata> {
    extension::decode(METADATA_TYPE_URL, any)
}

/// Removes the container's directories; missing is fine.
pub fn remove_dirs(ctx: &Context, id: &str) -> std::io::Result<()> {
    crate::sys::blocking::run(|| remove_dirs_here(ctx, id))
}

fn remove_dirs_here(ctx: &Context, id: &str) -> std::io::Result<()> {
    let _ = std::fs::remove_file(attach_socket(ctx, id));
    // Image volumes are read-only mounts under the state directory: unmounted first.
    super::image_volumes::unmount_all(&state_dir(ctx, id));
    for d in [dir(ctx, id), state_dir(ctx, id)] {
        match std::fs::remove_dir_all(&d) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
