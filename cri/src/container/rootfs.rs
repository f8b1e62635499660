//! A container's rootfs: reading the image's user files from the prepared snapshot's layers
//! without mounting it.

use std::path::PathBuf;

use containerd_bridge::Mount;

use crate::spec::ImageUsers;

/// The directories a path is looked up in, top first: an overlay's upper then lower dirs, or a
/// bind mount's source.
fn layer_dirs(mounts: &[Mount]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for m in mounts {
        if m.r#type == "bind" {
            dirs.push(PathBuf::from(&m.source));
        }
        for o in &m.options {
            if let Some(up) = o.strip_prefix("upperdir=") {
                dirs.insert(0, PathBuf::from(up));
            } else if let Some(lower) = o.strip_prefix("lowerdir=") {
                dirs.extend(lower.split(':').map(PathBuf::from));
            }
        }
    }
    dirs
}

fn read_file(dirs: &[PathBuf], rel: &str) -> String {
    dirs.iter().find_map(|d| std::fs::read_to_string(d.join(rel)).ok()).unwrap_or_default()
}

/// The image's /etc/passwd and /etc/group as the container will see them.
pub fn image_users(mounts: &[Mount]) -> ImageUsers {
    let dirs = layer_dirs(mounts);
    ImageUsers { passwd: read_file(&dirs, "etc/passwd"), group: read_file(&dirs, "etc/group") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_and_bind_layers_are_searched_top_first() {
        let overlay = Mount {
            r#type: "overlay".into(),
            source: "overlay".into(),
            options: vec!["workdir=/w".into(), "upperdir=/u".into(), "lowerdir=/l2:/l1".into()],
            ..Default::default()
        };
        assert_eq!(layer_dirs(&[overlay]), ["/u", "/l2", "/l1"].map(PathBuf::from));
        let bind = Mount {
            r#type: "bind".into(),
            source: "/s".into(),
            options: vec!["ro".into()],
            ..Default::default()
        };
        assert_eq!(layer_dirs(&[bind]), [PathBuf::from("/s")]);
    }
}
