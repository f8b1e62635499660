//! What a process uses, read from `/proc`: its CPU time and the sizes in its status file.

use std::time::Duration;

/// A `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`); 0 when the process is gone.
pub fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Its resident set in KiB.
pub fn rss_kib(pid: i32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// Its user + system CPU time so far (in the kernel's 10 ms ticks).
pub fn cpu_of(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: the fields are counted after its closing parenthesis.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = [11, 12].iter().filter_map(|i| fields.get(*i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_a_resident_set_and_a_status_field_that_is_absent_reads_zero() {
        let me = std::process::id() as i32;
        assert!(super::rss_kib(me) > 0);
        assert!(super::status_kib(me, "VmHWM:") >= super::rss_kib(me));
        assert_eq!(super::status_kib(me, "NoSuchField:"), 0);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let me = std::process::id() as i32;
        let before = super::cpu_of(me);
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(super::cpu_of(me) > before);
    }
}
