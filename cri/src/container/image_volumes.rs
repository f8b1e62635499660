//! Image volumes (CRI 1.31; sub paths 1.33): a mount whose `image` names an OCI image gives
//! the container that image's files, read-only. cricket pulls the image if the kubelet has
//! not, makes a read-only view of its unpacked snapshot, mounts the view under the
//! container's state directory and hands runc a read-only bind of it, or of `image_sub_path`
//! inside it. The container's rootfs snapshot references each view, so containerd keeps the
//! views as long as the container (or the create's lease) exists; RemoveContainer unmounts
//! and removes them, and RemoveImage refuses an image a container has mounted.

use std::path::{Component, Path, PathBuf};

use containerd_bridge::Mount as SnapshotMount;
use serde::{Deserialize, Serialize};

use crate::api::v1::{ContainerConfig, Mount};
use crate::context::Context;
use crate::error::{from_bridge, Error};

/// What a container has mounted from an image; kept in its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageVolume {
    /// Which of the config's mounts.
    #[serde(default)]
    pub mount: usize,
    pub image_id: String,
    /// The view snapshot's key.
    pub key: String,
}

/// The view of mount `index` of container `id`.
fn view_key(id: &str, index: usize) -> String {
    format!("{id}-image-volume-{index}")
}

fn volumes_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("image-volumes")
}

/// The garbage-collection label on the rootfs snapshot that keeps view `key` alive.
pub fn reference_label(snapshotter: &str, index: usize) -> String {
    format!("{}/image-volume-{index}", containerd_bridge::gc_labels::ref_snapshot(snapshotter))
}

/// The image volumes of `config`, each made a read-only bind of its mounted view. Returns the
/// config to build the spec from and the views made (in `views`, even on error, so that
/// the caller removes them).
pub async fn prepare(
    ctx: &Context,
    id: &str,
    state_dir: &Path,
    lease: &containerd_bridge::Lease,
    mut config: ContainerConfig,
    views: &mut Vec<(usize, ImageVolume)>,
) -> Result<ContainerConfig, Error> {
    for (i, m) in config.mounts.iter_mut().enumerate() {
        let Some(reference) = m.image.as_ref().map(|s| s.image.clone()).filter(|r| !r.is_empty())
        else {
            continue;
        };
        let field = |f: &str| format!("config.mounts[{i}].{f}");
        if !m.host_path.is_empty() {
            return Err(Error::invalid(field("host_path"), "an image volume has no host path"));
        }
        if !m.readonly {
            return Err(Error::invalid(field("readonly"), "an image volume is read-only"));
        }
        let sub =
            sub_path(&m.image_sub_path).map_err(|e| Error::invalid(field("image_sub_path"), e))?;
        let image = image_of(ctx, &reference).await?;
        let key = view_key(id, i);
        let parent = crate::image::top_chain_id(&image.config)?;
        let mounts = ctx
            .lifecycle
            .view_snapshot(lease, &key, &parent)
            .await
            .map_err(|e| from_bridge("image volume view", e))?;
        views.push((i, ImageVolume { mount: i, image_id: image.id.clone(), key }));
        let dir = volumes_dir(state_dir).join(i.to_string());
        let source = crate::sys::blocking::off_workers(move || mount_view(&mounts, &dir, &sub))
            .await
            .map_err(|e: MountError| match e {
                MountError::Missing(what) => Error::invalid(field("image_sub_path"), what),
                MountError::Io(e) => Error::internal("mount an image volume", e),
            })?;
        *m = Mount {
            host_path: source.display().to_string(),
            readonly: true,
            image: None,
            image_sub_path: String::new(),
            ..m.clone()
        };
    }
    Ok(config)
}

/// The image, pulled first if the node does not have it.
async fn image_of(
    ctx: &Context,
    reference: &str,
) -> Result<crate::store::images::ImageEntry, Error> {
    if let Some(image) = ctx.images.resolve(reference) {
        return Ok(image);
    }
    let credentials = containerd_bridge::pull::Credentials::default();
    crate::image::pull_and_record(ctx, reference, &credentials, false).await?;
    ctx.images
        .resolve(reference)
        .ok_or_else(|| Error::not_found(format!("image {reference:?} after pulling it")))
}

/// A sub path as path components inside the image: relative, without `..`.
fn sub_path(raw: &str) -> Result<PathBuf, String> {
    let path = Path::new(raw);
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return Err(format!("{raw:?} must stay inside the image")),
        }
    }
    Ok(clean)
}

enum MountError {
    Missing(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for MountError {
    fn from(e: std::io::Error) -> Self {
        MountError::Io(e)
    }
}

/// Mounts the view on `dir` (read-only) and returns the directory to bind: `sub` inside it,
/// which must exist and, symlinks resolved, stay inside the image.
fn mount_view(mounts: &[SnapshotMount], dir: &Path, sub: &Path) -> Result<PathBuf, MountError> {
    std::fs::create_dir_all(dir)?;
    let mount = mounts.first().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "the view has no mounts")
    })?;
    if mount.r#type == "bind" {
        crate::sys::mount::bind_read_only(Path::new(&mount.source), dir)?;
    } else if mount.r#type == "overlay" {
        let options: Vec<&str> = mount
            .options
            .iter()
            .map(String::as_str)
            .filter(|o| !matches!(*o, "ro" | "rw"))
            .collect();
        crate::sys::mount::overlay_read_only(&options.join(","), dir)?;
    } else {
        return Err(MountError::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("snapshot mount type {:?}", mount.r#type),
        )));
    }
    let root = dir.canonicalize()?;
    let wanted = root.join(sub);
    match wanted.canonicalize() {
        Ok(real) if real.starts_with(&root) && real.is_dir() => Ok(real),
        Ok(_) => Err(MountError::Missing(format!(
            "{} is not a directory inside the image",
            sub.display()
        ))),
        Err(_) => Err(MountError::Missing(format!("{} is not in the image", sub.display()))),
    }
}

/// The config's mounts as ContainerStatus reports them: each image volume's `image_ref` is
/// the ID of the image mounted.
pub fn status_mounts(config: &ContainerConfig, volumes: &[ImageVolume]) -> Vec<Mount> {
    let mut mounts = config.mounts.clone();
    for v in volumes {
        if let Some(spec) = mounts.get_mut(v.mount).and_then(|m| m.image.as_mut()) {
            spec.image_ref = v.image_id.clone();
        }
    }
    mounts
}

/// Unmounts every image volume under a container's state directory (before its files go).
pub fn unmount_all(state_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(volumes_dir(state_dir)) else { return };
    for entry in entries.flatten() {
        if let Err(e) = crate::sys::mount::unmount_if_mounted(&entry.path()) {
            tracing::warn!(path = %entry.path().display(), error = %e, "unmount an image volume");
        }
    }
}

/// Unmounts the container's image volumes and removes their views.
pub async fn release(ctx: &Context, state_dir: &Path, views: &[ImageVolume]) -> Result<(), Error> {
    let dir = state_dir.to_path_buf();
    crate::sys::blocking::off_workers(move || {
        unmount_all(&dir);
        Ok::<(), Error>(())
    })
    .await?;
    for v in views {
        ctx.lifecycle.remove_snapshot(&v.key).await.map_err(|e| from_bridge("remove view", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_path_stays_inside_the_image() {
        assert_eq!(sub_path("").unwrap(), PathBuf::new());
        assert_eq!(sub_path("data/./x").unwrap(), PathBuf::from("data/x"));
        for bad in ["..", "data/../../etc", "/etc"] {
            assert!(sub_path(bad).unwrap_err().contains("inside the image"), "{bad}");
        }
    }
}
