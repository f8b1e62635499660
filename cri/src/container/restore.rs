//! CreateContainer from a checkpoint archive, named as the config's image by its absolute
//! path (image references are never absolute paths): the container is made from the image
//! the checkpoint was taken on, its writable layer is put back, and StartContainer has CRIU
//! restore the checkpointed processes instead of starting the config's command.
//!
//! The CRIU images wait in the container's directory under `root_dir` (on disk, not the
//! tmpfs `state_dir`: they can be large, and a reboot must not turn the restore into a plain
//! start) until the start; their presence is what makes a start a restore, so a restart of
//! cricket in between changes nothing.

use std::path::{Path, PathBuf};

use containerd_bridge::{Lease, Mount};

use super::checkpoint_archive::{self as archive, CheckpointedContainer};
use crate::api::v1::ContainerConfig;
use crate::context::Context;
use crate::error::{from_bridge, Error};

/// The archive a config names as its image, if it names one.
pub fn archive_of(config: &ContainerConfig) -> Option<PathBuf> {
    let image = config.image.as_ref().map(|i| i.image.as_str()).unwrap_or_default();
    let path = Path::new(image);
    (path.is_absolute() && path.is_file()).then(|| path.to_path_buf())
}

/// Reads what the archive was taken of, and points the config at that container's image
/// (by ID, with the name it was known by beside it).
pub async fn retarget(config: &mut ContainerConfig, archive: &Path) -> Result<(), Error> {
    let path = archive.to_path_buf();
    let from: CheckpointedContainer =
        crate::sys::blocking::off_workers(move || archive::read_config(&path)).await.map_err(
            |e| Error::invalid("config.image.image", format!("{}: {e}", archive.display())),
        )?;
    if from.rootfs_image_ref.is_empty() {
        return Err(Error::invalid(
            "config.image.image",
            format!("{}: the checkpoint names no image", archive.display()),
        ));
    }
    let image = config.image.get_or_insert_with(Default::default);
    image.image = from.rootfs_image_ref;
    image.user_specified_image =
        if from.rootfs_image_name.is_empty() { from.rootfs_image } else { from.rootfs_image_name };
    Ok(())
}

fn restore_dir(ctx: &Context, id: &str) -> PathBuf {
    super::persist::dir(ctx, id).join("restore")
}

/// The CRIU images a container's start restores from, if it is a restore.
pub fn criu_images(ctx: &Context, id: &str) -> Option<PathBuf> {
    let images = restore_dir(ctx, id).join(archive::CRIU_IMAGES);
    images.is_dir().then_some(images)
}

/// Unpacks the archive into the container's directory and applies its writable layer
/// onto the container's fresh rootfs `mounts`.
pub async fn unpack(
    ctx: &Context,
    id: &str,
    lease: &Lease,
    archive: &Path,
    mounts: Vec<Mount>,
) -> Result<(), Error> {
    let dir = restore_dir(ctx, id);
    let (from, into) = (archive.to_path_buf(), dir.clone());
    crate::sys::blocking::off_workers(move || archive::unpack(&from, &into))
        .await
        .map_err(|e| Error::invalid("config.image.image", format!("{}: {e}", archive.display())))?;
    if !dir.join(archive::CRIU_IMAGES).is_dir() {
        return Err(Error::invalid(
            "config.image.image",
            format!("{}: no {} directory in it", archive.display(), archive::CRIU_IMAGES),
        ));
    }
    let diff = dir.join(archive::ROOTFS_DIFF);
    if diff.is_file() {
        ctx.lifecycle
            .apply_layer(lease, &diff, mounts)
            .await
            .map_err(|e| from_bridge("apply the checkpoint's rootfs diff", e))?;
        let _ = std::fs::remove_file(&diff);
    }
    Ok(())
}

/// After a restore started: the images are no longer needed.
pub fn done(ctx: &Context, id: &str) {
    let dir = restore_dir(ctx, id);
    crate::sys::blocking::run(move || {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(error = %e, dir = %dir.display(), "could not remove restored CRIU images");
        }
    });
}
