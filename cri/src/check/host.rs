//! Checks of the host itself: the snapshotter's file system, cgroups and the driver, IP
//! forwarding, iptables, and writable state directories.

use std::path::{Path, PathBuf};

use super::Finding;
use crate::config::Config;

/// The directories of `PATH`, with the usual system ones when it is unset.
pub fn search_path() -> Vec<PathBuf> {
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path).collect()
}

/// The first executable file named `name` in `dirs`.
pub fn find_executable(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

pub fn snapshotter(snapshotter: &str, proc_filesystems: &str) -> Finding {
    let what = "snapshotter";
    if snapshotter != "overlayfs" {
        return Finding::ok(what, format!("{snapshotter} (not checked here)"));
    }
    if proc_filesystems.lines().any(|l| l.split_whitespace().last() == Some("overlay")) {
        Finding::ok(what, "overlayfs (the kernel has overlay)")
    } else {
        Finding::fail(
            what,
            "the kernel has no overlay file system loaded",
            "modprobe overlay (and add \"overlay\" to /etc/modules-load.d/)",
        )
    }
}

/// The cgroup version, and whether the configured driver can work: the systemd driver needs
/// systemd as the init.
pub fn cgroups(config: &Config, cgroup_root: &Path, systemd_marker: &Path) -> Finding {
    let version = if cgroup_root.join("cgroup.controllers").exists() { "v2" } else { "v1" };
    let systemd = config.systemd_cgroup();
    let driver = if systemd { "systemd" } else { "cgroupfs" };
    let what = "cgroups";
    if systemd && !systemd_marker.exists() {
        return Finding::fail(
            what,
            format!("cgroup {version}, driver systemd configured, but systemd is not running"),
            "set options = { SystemdCgroup = false } on the runc handler, and cgroupDriver: cgroupfs in the kubelet's config",
        );
    }
    Finding::ok(
        what,
        format!("cgroup {version}, driver {driver} (kubelet's cgroupDriver must be {driver})"),
    )
}

pub fn ip_forward(value: &str) -> Finding {
    if value.trim() == "1" {
        Finding::ok("ip_forward", "net.ipv4.ip_forward = 1")
    } else {
        Finding::fail(
            "ip_forward",
            format!("net.ipv4.ip_forward = {}: pods cannot reach beyond the node", value.trim()),
            "sysctl -w net.ipv4.ip_forward=1, and keep it in /etc/sysctl.d/99-kubernetes.conf",
        )
    }
}

pub fn iptables(path: &[PathBuf]) -> Finding {
    match find_executable("iptables", path) {
        Some(p) => Finding::ok("iptables", p.display().to_string()),
        None => Finding::fail(
            "iptables",
            "not found in PATH (the bridge and portmap plugins use it)",
            "apt-get install iptables",
        ),
    }
}

/// Whether cricket can write in `dir`, or create it.
pub fn writable(key: &str, dir: &Path) -> Finding {
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(Path::new("/"));
    let probe = existing.join(format!(".cricket-check-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            let how = if existing == dir { "writable" } else { "will be created" };
            Finding::ok(key, format!("{} ({how})", dir.display()))
        }
        Err(e) => Finding::fail(
            key,
            format!("{}: cannot write in {}: {e}", dir.display(), existing.display()),
            format!("run cricket as root, or set {key} to a writable directory"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_from_proc_filesystems() {
        assert!(snapshotter("overlayfs", "nodev\tproc\nnodev\toverlay\n").passed());
        let missing = snapshotter("overlayfs", "nodev\tproc\n");
        assert!(missing.fix.unwrap().contains("modprobe overlay"));
        assert!(snapshotter("native", "").passed());
    }

    #[test]
    fn the_systemd_driver_needs_systemd() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        assert!(cgroups(&config, tmp.path(), &tmp.path().join("absent"))
            .detail
            .contains("cgroup v1, driver cgroupfs"));
        config
            .containerd
            .runtimes
            .get_mut("runc")
            .unwrap()
            .options
            .insert("SystemdCgroup".into(), toml::Value::Boolean(true));
        let no_systemd = cgroups(&config, tmp.path(), &tmp.path().join("absent"));
        assert!(no_systemd.fix.unwrap().contains("SystemdCgroup = false"));
        std::fs::write(tmp.path().join("cgroup.controllers"), "cpu memory").unwrap();
        let fine = cgroups(&config, tmp.path(), tmp.path());
        assert_eq!(
            (fine.passed(), fine.detail.contains("cgroup v2, driver systemd")),
            (true, true),
            "{fine:?}"
        );
    }

    #[test]
    fn ip_forward_and_writable_dirs() {
        assert!(ip_forward("1\n").passed());
        assert!(ip_forward("0\n").fix.unwrap().contains("net.ipv4.ip_forward=1"));
        let tmp = tempfile::tempdir().unwrap();
        assert!(writable("root_dir", &tmp.path().join("a/b")).detail.contains("will be created"));
        assert!(writable("root_dir", tmp.path()).detail.contains("(writable)"));
    }

    #[test]
    fn executables_are_found_in_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = [tmp.path().to_path_buf()];
        assert!(!iptables(&dirs).passed());
        let bin = tmp.path().join("iptables");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        assert!(find_executable("iptables", &dirs).is_none(), "not executable yet");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_executable("iptables", &dirs), Some(bin));
    }
}
