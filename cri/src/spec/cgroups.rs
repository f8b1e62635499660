//! Where a pod's cgroup lives: under kubelet's parent, as a cgroupfs path or a systemd slice.

use oci_spec::runtime::Spec;

use super::SpecError;

/// The cgroups path of container `id` under `parent` (kubelet's `cgroup_parent`):
/// `<parent>/<id>` with cgroupfs, `<parent>:cricket:<id>` with systemd (which needs a
/// `.slice` parent). No parent: runc's default placement.
pub fn cgroups_path(parent: &str, id: &str, systemd: bool) -> Result<Option<String>, SpecError> {
    if parent.is_empty() {
        return Ok(None);
    }
    if systemd {
        if !parent.ends_with(".slice") || parent.contains('/') {
            return Err(SpecError::invalid("linux.cgroup_parent", format!("{parent:?} is not a systemd slice (the cgroup driver is systemd)")));
        }
        return Ok(Some(format!("{parent}:cricket:{id}")));
    }
    if !parent.starts_with('/') {
        return Err(SpecError::invalid("linux.cgroup_parent", format!("{parent:?} is not an absolute cgroupfs path")));
    }
    Ok(Some(format!("{}/{id}", parent.trim_end_matches('/'))))
}

pub fn set_cgroups_path(spec: &mut Spec, path: Option<String>) {
    spec.linux_mut().as_mut().expect("linux").set_cgroups_path(path.map(Into::into));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroupfs_and_systemd_paths() {
        assert_eq!(cgroups_path("/kubepods/besteffort/pod1", "abc", false).unwrap().unwrap(), "/kubepods/besteffort/pod1/abc");
        assert_eq!(cgroups_path("kubepods-pod1.slice", "abc", true).unwrap().unwrap(), "kubepods-pod1.slice:cricket:abc");
        assert_eq!(cgroups_path("", "abc", true).unwrap(), None);
        assert!(cgroups_path("/kubepods", "abc", true).unwrap_err().to_string().contains("linux.cgroup_parent"));
        assert!(cgroups_path("kubepods", "abc", false).is_err());
    }
}
