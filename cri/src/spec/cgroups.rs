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
            return Err(SpecError::invalid(
                "linux.cgroup_parent",
                format!("{parent:?} is not a systemd slice (the cgroup driver is systemd)"),
            ));
        }
        return Ok(Some(format!("{parent}:cricket:{id}")));
    }
    if !parent.starts_with('/') {
        return Err(SpecError::invalid(
            "linux.cgroup_parent",
            format!("{parent:?} is not an absolute cgroupfs path"),
        ));
    }
    Ok(Some(format!("{}/{id}", parent.trim_end_matches('/'))))
}

/// Whether runc can set hugepage limits here: the unified hierarchy lists `hugetlb` among
/// its controllers, or (cgroup v1) a v1 hierarchy carries it. On a hybrid host the
/// controller can sit in the unified tree, which runc's v1 driver does not use.
pub fn hugetlb_controller_present() -> bool {
    let unified = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers");
    if let Ok(controllers) = unified {
        return controllers.split_whitespace().any(|c| c == "hugetlb");
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    v1_mounts_carry(&mounts, "hugetlb")
}

/// Whether a cgroup v1 mount in `mounts` (the text of /proc/self/mounts) carries `controller`.
fn v1_mounts_carry(mounts: &str, controller: &str) -> bool {
    mounts
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("cgroup"))
        .any(|l| l.split(' ').nth(3).is_some_and(|o| o.split(',').any(|x| x == controller)))
}

pub fn set_cgroups_path(spec: &mut Spec, path: Option<String>) {
    spec.linux_mut().as_mut().expect("linux").set_cgroups_path(path.map(Into::into));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_controller_counts_only_on_a_v1_mount_that_carries_it() {
        let hybrid = "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw,hugetlb 0 0\n";
        assert!(!v1_mounts_carry(hybrid, "hugetlb"));
        assert!(v1_mounts_carry(hybrid, "memory"));
        assert!(v1_mounts_carry(
            "cgroup /sys/fs/cgroup/hugetlb cgroup rw,relatime,hugetlb 0 0\n",
            "hugetlb"
        ));
    }

    #[test]
    fn cgroupfs_and_systemd_paths() {
        assert_eq!(
            cgroups_path("/kubepods/besteffort/pod1", "abc", false).unwrap().unwrap(),
            "/kubepods/besteffort/pod1/abc"
        );
        assert_eq!(
            cgroups_path("kubepods-pod1.slice", "abc", true).unwrap().unwrap(),
            "kubepods-pod1.slice:cricket:abc"
        );
        assert_eq!(cgroups_path("", "abc", true).unwrap(), None);
        assert!(cgroups_path("/kubepods", "abc", true)
            .unwrap_err()
            .to_string()
            .contains("linux.cgroup_parent"));
        assert!(cgroups_path("kubepods", "abc", false).is_err());
    }
}
