//! The cgroups of a test cluster's kubelet: a root of its own in every hierarchy, whose pod
//! cgroups kubelet makes and removes, and which the cluster removes when it goes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The cgroup (in every v1 hierarchy) that holds one kubelet's pods, removed when dropped
/// along with kubelet's links to the cluster's container logs.
pub struct CgroupRoot {
    pub name: String,
    pub pod_logs: PathBuf,
}

impl Drop for CgroupRoot {
    fn drop(&mut self) {
        remove_cgroup(&self.name);
        remove_container_log_links(&self.pod_logs);
    }
}

/// Every cgroup v1 hierarchy's mount point (the unified one of a hybrid host excluded).
pub(crate) fn v1_hierarchies() -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = mounts
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("cgroup"))
        .filter_map(|l| l.split(' ').nth(1))
        .map(PathBuf::from)
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The mount point of the v1 hierarchy that carries `controller`.
pub fn v1_hierarchy_of(controller: &str) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("cgroup"))
        .find(|l| l.split(' ').nth(3).is_some_and(|o| o.split(',').any(|x| x == controller)))
        .and_then(|l| l.split(' ').nth(1))
        .map(PathBuf::from)
}

pub(crate) fn make_cgroup(name: &str) {
    for h in v1_hierarchies() {
        std::fs::create_dir_all(h.join(name.trim_start_matches('/')))
            .unwrap_or_else(|e| panic!("create cgroup {name} in {}: {e}", h.display()));
    }
}

/// Whether any pod cgroup is left under `root` (kubelet removes each once its pod is gone).
fn pod_cgroups_left(root: &str) -> bool {
    !pod_cgroups(root).is_empty()
}

/// The pod cgroups under `root` in the memory hierarchy.
pub(crate) fn pod_cgroups(root: &str) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
        for e in
            std::fs::read_dir(dir).into_iter().flatten().flatten().filter(|e| e.path().is_dir())
        {
            if e.file_name().to_string_lossy().starts_with("pod") {
                found.push(e.path());
            } else {
                walk(&e.path(), found);
            }
        }
    }
    let mut found = Vec::new();
    if let Some(memory) = v1_hierarchy_of("memory") {
        walk(&memory.join(root.trim_start_matches('/')), &mut found);
    }
    found
}

pub(crate) fn wait_no_pod_cgroups(root: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while pod_cgroups_left(root) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Removes `name` and the cgroups below it (deepest first) in every hierarchy, the unified
/// one of a hybrid host included (kubelet and runc make theirs there too).
fn remove_cgroup(name: &str) {
    fn remove_tree(dir: &std::path::Path) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                remove_tree(&entry.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
    for dir in cgroup_dirs(name) {
        remove_tree(&dir);
    }
}

/// Where cgroup `name` is (or would be) in every hierarchy, the unified one included.
pub(crate) fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let unified = mounts
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("cgroup2"))
        .filter_map(|l| l.split(' ').nth(1))
        .map(PathBuf::from);
    v1_hierarchies()
        .into_iter()
        .chain(unified)
        .map(|h| h.join(name.trim_start_matches('/')))
        .collect()
}

/// kubelet links each container's log into /var/log/containers (a path fixed in kubelet);
/// links into this cluster's pod log directory that outlived their pods are removed.
fn remove_container_log_links(pod_logs: &std::path::Path) {
    for entry in std::fs::read_dir("/var/log/containers").into_iter().flatten().flatten() {
        if std::fs::read_link(entry.path()).is_ok_and(|t| t.starts_with(pod_logs)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
