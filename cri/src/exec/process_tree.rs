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
    pids.filter_map(|pid| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces and parentheses: the fields follow the last ')'.
        let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
        Some((pid, ppid))
    })
    .collect()
}

/// SIGKILLs `pid` and its descendants.
pub fn kill_tree(pid: i32) {
    if pid <= 1 {
        return;
    }
    for p in tree(pid, &parents()) {
        unsafe { libc::kill(p, libc::SIGKILL) };
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
