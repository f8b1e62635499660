//! Whether a container's cgroup saw an OOM kill. The shim's OOM event can be missed: a process
//! killed before the shim watches its cgroup (containerd 1.6 on cgroup v1 starts watching after
//! the start), or while cricket was down. The kernel's count in the cgroup is kept until the
//! task is deleted, which comes after the exit is recorded.

use crate::context::Context;
use crate::stats::{slice_dir, CgroupPaths};

/// The kernel counted an OOM kill in the cgroup of container `id`: the one its process was
/// found in, else (cricket restarted since) the one runc makes under the pod's cgroup parent.
pub(crate) fn cgroup_saw_oom_kill(ctx: &Context, id: &str) -> bool {
    if let Some(paths) = ctx.stats.paths(id) {
        return paths.oom_kills() > 0;
    }
    let Some(container) = ctx.containers.get(id) else {
        return false;
    };
    let Some(pod) = ctx.sandboxes.get(&container.meta.sandbox_id) else {
        return false;
    };
    let parent = pod.config.linux.as_ref().map(|l| l.cgroup_parent.as_str()).unwrap_or_default();
    let Some(dir) = container_cgroup(parent, id, ctx.config.systemd_cgroup()) else {
        return false;
    };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    CgroupPaths::of_cgroup(&dir, &mountinfo).is_some_and(|p| p.oom_kills() > 0)
}

/// The cgroup directory runc makes for container `id` under kubelet's `parent`: `<parent>/<id>`
/// with cgroupfs, the scope `cricket-<id>.scope` in the slice's directory with systemd.
fn container_cgroup(parent: &str, id: &str, systemd: bool) -> Option<String> {
    let path = crate::spec::cgroups_path(parent, id, systemd).ok()??;
    if systemd {
        return Some(format!("{}/cricket-{id}.scope", slice_dir(parent)?.trim_end_matches('/')));
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_cgroup_is_where_runc_makes_it() {
        assert_eq!(
            container_cgroup("/kubepods/burstable/pod1", "abc", false).as_deref(),
            Some("/kubepods/burstable/pod1/abc")
        );
        let systemd = container_cgroup("kubepods-burstable-pod1.slice", "abc", true);
        assert_eq!(systemd.as_deref(), Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cricket-abc.scope"));
        assert_eq!(
            container_cgroup("", "abc", false),
            None,
            "no parent: runc's default placement, not looked at"
        );
    }

    #[test]
    fn oom_kills_are_read_from_either_hierarchy() {
        let dir = std::env::temp_dir().join(format!("cricket-oom-test-{}", std::process::id()));
        let (memory, unified) = (dir.join("memory"), dir.join("unified"));
        std::fs::create_dir_all(&memory).unwrap();
        std::fs::create_dir_all(&unified).unwrap();
        std::fs::write(
            memory.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        )
        .unwrap();
        std::fs::write(unified.join("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
            .unwrap();
        let v1 =
            CgroupPaths::V1 { cpuacct: dir.clone(), memory, pids: None, cpu: None, blkio: None };
        assert_eq!(v1.oom_kills(), 1);
        assert_eq!(CgroupPaths::V2(unified).oom_kills(), 0, "an OOM without a kill is not one");
        assert_eq!(CgroupPaths::V2(dir.join("gone")).oom_kills(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
