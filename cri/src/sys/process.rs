//! Processes cricket starts, and what the kernel says about processes.

use std::os::unix::process::CommandExt;

/// Makes the program `cmd` starts lead a session of its own, so that it outlives cricket and
/// gets no signal meant for cricket's process group.
pub fn in_new_session(cmd: &mut std::process::Command) {
    // SAFETY: the hook runs in the child between fork and exec and calls only setsid, which is
    // async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
}

/// The kernel's clock ticks per second (the unit of times in /proc/<pid>/stat and cpuacct).
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a constant of the running system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// cricket's own OOM score adjustment; containers may not go below it.
pub fn own_oom_score_adj() -> i32 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Raises the soft limit on open files to the hard one (Go programs such as containerd do
/// the same): on a full node the stats sampler alone keeps a few thousand cgroup files open,
/// past the usual soft limit of 1024.
pub fn raise_open_files_limit() -> std::io::Result<()> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes only into the rlimit it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur >= limit.rlim_max {
        return Ok(());
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit only reads the rlimit it is given; a soft limit up to the hard one is
    // always allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn open_files_limits() -> (String, String) {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
        let v: Vec<&str> = line.split_whitespace().collect();
        (v[3].to_string(), v[4].to_string())
    }

    #[test]
    fn the_soft_open_files_limit_rises_to_the_hard_one() {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: get/setrlimit read and write only the rlimit on this stack; lowering the
        // soft limit is always allowed.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
            limit.rlim_cur = limit.rlim_max.min(512);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
        assert_eq!(open_files_limits().0, limit.rlim_cur.to_string(), "lowered first");
        super::raise_open_files_limit().unwrap();
        let (soft, hard) = open_files_limits();
        assert_eq!(soft, hard);
    }
}
