//! Host paths of a container's mounts, made ready before the spec names them: created if
//! missing (as kubelet's hostPath DirectoryOrCreate expects of runtimes), symlinks resolved,
//! and for rshared/rslave mounts the host mount made shared so propagation can work.

use crate::error::Error;
use std::path::Path;

use crate::api::v1::{ContainerConfig, MountPropagation};

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
pub fn prepared(config: &ContainerConfig) -> Result<ContainerConfig, Error> {
    let mut config = config.clone();
    for (i, m) in config.mounts.iter_mut().enumerate() {
        let field = format!("config.mounts[{i}].host_path");
        let host = Path::new(&m.host_path);
        if !host.is_absolute() {
            return Err(Error::invalid(field, format!("{:?} is not absolute", m.host_path)));
        }
        if !host.exists() {
            std::fs::create_dir_all(host)
                .map_err(|e| Error::internal(format!("{field}: create {:?}", m.host_path), e))?;
        }
        let real = host
            .canonicalize()
            .map_err(|e| Error::internal(format!("{field}: resolve {:?}", m.host_path), e))?;
        if m.propagation != MountPropagation::PropagationPrivate as i32 {
            make_shared(&real)
                .map_err(|e| Error::internal(format!("{field}: make the host mount shared"), e))?;
        }
        m.host_path = real.display().to_string();
    }
    Ok(config)
}
