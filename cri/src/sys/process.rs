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
