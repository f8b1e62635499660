//! The processes an exec started: its own and every descendant, read from /proc, so that a
//! timed-out exec takes its children with it (killing only the exec's own process, as
//! containerd does, leaves `sh -c "sleep 10"`'s sleep running).

use std::collections::HashMap;

/// `pid` and its descendants, parents first.
pub fn tree(pid: i32, parents: &HashMap<i32, i32>) -> Vec<i32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(parents.iter().filter(|(_, p)| **p == parent).map(|(child, _)| *child));
        i += 1;
    }
    out
}

/// Every process's parent, from /proc/<pid>/stat.
pub fn parents() -> HashMap<i32, i32> {
    let pids = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
    pids.filter_map(|pid| Some((pid, crate::sys::signal::parent_of(pid)?))).collect()
}

/// SIGKILLs `pid` and its descendants. A descendant is killed only while it is still the
/// child of the parent the walk found, so a PID reused since then is left alone.
pub fn kill_tree(pid: i32) {
    if pid <= 1 {
        return;
    }
    let parents = parents();
    for p in tree(pid, &parents) {
        let found = parents.get(&p).copied();
        let still = |p| p == pid || crate::sys::signal::parent_of(p) == found;
        let _ = crate::sys::signal::send_if(p, libc::SIGKILL, still);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_follow_their_parent() {
        let parents = HashMap::from([(10, 1), (11, 10), (12, 11), (13, 10), (20, 1)]);
        let mut t = tree(10, &parents);
        assert_eq!(t[0], 10);
        t.sort();
        assert_eq!(t, [10, 11, 12, 13]);
    }
}
