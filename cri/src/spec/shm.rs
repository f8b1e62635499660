//! Binding the pod's own /dev/shm in place of the container's private one.

use std::path::Path;

use oci_spec::runtime::{MountBuilder, Spec};

use super::SpecError;

pub fn bind_pod_shm(spec: &mut Spec, source: &Path) -> Result<(), SpecError> {
    let shm = MountBuilder::default()
        .destination("/dev/shm")
        .typ("bind")
        .source(source)
        .options(vec![
            "rbind".to_string(),
            "rw".to_string(),
            "nosuid".to_string(),
            "nodev".to_string(),
            "noexec".to_string(),
        ])
        .build()?;
    let mut mounts: Vec<_> = spec
        .mounts()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.destination() != Path::new("/dev/shm"))
        .collect();
    mounts.push(shm);
    spec.set_mounts(Some(mounts));
    Ok(())
}
