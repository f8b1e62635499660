//! What no cgroup file holds: the open file descriptors and sockets of a container's
//! processes, and the soft open-files limit of its init, read from procfs.

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessCounts {
    pub fds: u64,
    pub sockets: u64,
}

/// Sums the descriptors of `pids`; a process that exits meanwhile counts nothing.
pub fn count(pids: &[u32]) -> ProcessCounts {
    let mut total = ProcessCounts::default();
    for pid in pids {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for entry in entries.flatten() {
            total.fds += 1;
            if std::fs::read_link(entry.path())
                .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
            {
                total.sockets += 1;
            }
        }
    }
    total
}

/// The soft "Max open files" of a `/proc/<pid>/limits` table; `None` when unlimited.
pub fn soft_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(soft_open_files(limits), Some(1024));
        assert_eq!(
            soft_open_files(
                "Max open files            unlimited            unlimited            files\n"
            ),
            None
        );
    }

    #[test]
    fn counts_this_processs_descriptors_and_sockets() {
        let before = count(&[std::process::id()]);
        let _socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let _file = std::fs::File::open("/proc/self/status").unwrap();
        let after = count(&[std::process::id()]);
        // Other tests open and close descriptors in parallel: at least ours were added.
        assert!(after.sockets >= 1, "{before:?} {after:?}");
        assert!(after.fds >= 2, "{after:?}");
        assert_eq!(count(&[u32::MAX]), ProcessCounts::default(), "no such process");
    }
}
