//! Host paths of a container's mounts, made ready before the spec names them: created if
//! missing (as kubelet's hostPath DirectoryOrCreate expects of runtimes), symlinks resolved,
//! and for rshared/rslave mounts the host mount made shared so propagation can work.

use std::path::Path;

use k8s_cri::v1::{ContainerConfig, MountPropagation};
use tonic::Status;

/// The mount point under which `path` lives (longest matching mount point in mountinfo).
fn mount_point_of(path: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.len())
        .map(String::from)
}

fn make_shared(path: &Path) -> std::io::Result<()> {
    let Some(mp) = mount_point_of(path) else { return Ok(()) };
    crate::sys::mount::make_rshared(Path::new(&mp))
}

/// A copy of `config` whose mounts name existing, canonical host paths.
pub fn prepared(config: &ContainerConfig) -> Result<ContainerConfig, Status> {
    let mut config = config.clone();
    // An image volume (a mount of an image's content) is a feature kubelet uses only where
    // the runtime serves it; Unimplemented is how a runtime says it does not. Checked before
    // any host directory is made.
    if let Some(i) = config
        .mounts
        .iter()
        .position(|m| m.image.as_ref().is_some_and(|image| !image.image.is_empty()))
    {
        return Err(Status::unimplemented(format!(
            "config.mounts[{i}].image: image volumes are not supported by cricket"
        )));
    }
    for (i, m) in config.mounts.iter_mut().enumerate() {
        let field = format!("config.mounts[{i}].host_path");
        let host = Path::new(&m.host_path);
        if !host.is_absolute() {
            return Err(Status::invalid_argument(format!(
                "{field}: {:?} is not absolute",
                m.host_path
            )));
        }
        if !host.exists() {
            std::fs::create_dir_all(host)
                .map_err(|e| Status::internal(format!("{field}: create {:?}: {e}", m.host_path)))?;
        }
        let real = host
            .canonicalize()
            .map_err(|e| Status::internal(format!("{field}: resolve {:?}: {e}", m.host_path)))?;
        if m.propagation != MountPropagation::PropagationPrivate as i32 {
            make_shared(&real).map_err(|e| {
                Status::internal(format!("{field}: make the host mount shared: {e}"))
            })?;
        }
        m.host_path = real.display().to_string();
    }
    Ok(config)
}
