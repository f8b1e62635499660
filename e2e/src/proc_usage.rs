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
    ticks(pid, &[11, 12])
}

/// Its CPU time so far with that of the children it has waited for (a shim's `runc` runs).
pub fn cpu_with_children(pid: i32) -> Duration {
    ticks(pid, &[11, 12, 13, 14])
}

/// The processes whose command line holds every one of `words`.
pub fn pids_with_args(words: &[&str]) -> Vec<i32> {
    let pids = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    pids.filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = line.split(|b| *b == 0).collect();
            words.iter().all(|w| args.contains(&w.as_bytes()))
        })
        .collect()
}

fn ticks(pid: i32, fields: &[usize]) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: the fields are counted after its closing parenthesis.
    let after: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = fields.iter().filter_map(|i| after.get(*i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_a_resident_set_and_a_status_field_that_is_absent_reads_zero() {
        let me = std::process::id() as i32;
        assert!(super::rss_kib(me) > 0);
        // The high-water mark read after the resident set is at least as large.
        let rss = super::rss_kib(me);
        assert!(super::status_kib(me, "VmHWM:") >= rss);
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
        assert!(super::cpu_with_children(me) >= super::cpu_of(me));
    }

    #[test]
    fn a_process_is_found_by_its_arguments() {
        let mut child = std::process::Command::new("sleep").arg("7.25").spawn().unwrap();
        // Until it has run exec, the child's command line is this test's.
        let mut found = Vec::new();
        for _ in 0..100 {
            found = super::pids_with_args(&["sleep", "7.25"]);
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found, vec![child.id() as i32]);
        assert!(super::pids_with_args(&["sleep", "no-such-argument"]).is_empty());
    }
}
