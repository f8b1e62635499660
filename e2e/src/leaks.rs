//! Finds what a test left behind on the machine: processes, mounts, network namespaces, links
//! and iptables rules that mention any of the test's unique names.

use std::process::Command;

/// Every leftover that mentions one of `needles`, described for a failure message.
pub fn find_leaks(needles: &[String]) -> Vec<String> {
    let mentions = |text: &str| needles.iter().any(|n| text.contains(n.as_str()));
    let mut leaks: Vec<String> =
        needles.iter().flat_map(|n| processes_naming(n)).map(|p| format!("process {p}")).collect();
    leaks.sort();
    leaks.dedup();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    leaks.extend(mounts.lines().filter(|l| mentions(l)).map(|l| format!("mount: {l}")));
    for (what, cmd, args) in [
        ("netns", "ip", &["netns", "list"][..]),
        ("link", "ip", &["-o", "link", "show"][..]),
        ("iptables", "iptables-save", &[][..]),
    ] {
        if let Ok(out) = Command::new(cmd).args(args).output() {
            let text = String::from_utf8_lossy(&out.stdout);
            leaks.extend(text.lines().filter(|l| mentions(l)).map(|l| format!("{what}: {l}")));
        }
    }
    leaks
}

/// The processes whose command line names `needle`, as "pid: cmdline".
pub fn processes_naming(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// Waits until no process names `needle` (a process that was told to go exits on its own
/// time); the ones still there after `within`.
pub fn processes_outliving(needle: &str, within: std::time::Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let left = processes_naming(needle);
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Unmounts everything mounted below `dir` (deepest first); for teardown after a failure.
pub fn unmount_below(dir: &str) {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let below = format!("{}/", dir.trim_end_matches('/'));
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| *p == dir || p.starts_with(&below))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: umount2 reads a NUL-terminated path that lives across the call.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}
