//! A `systemctl` and a `sudo` for the node suite on a machine where no systemd runs: the
//! suite stops and restarts kubelet (to change its configuration, or to see what a pod keeps
//! across a restart) with `sudo systemctl`. The `systemctl` is `kubelet_unit.sh`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SYSTEMCTL: &str = include_str!("kubelet_unit.sh");

/// The suite runs as root: its `sudo` only runs the command.
const SUDO: &str = "#!/bin/sh\nexec \"$@\"\n";

/// Writes `systemctl` and `sudo` into `path_dir`, the suite's `PATH`: `systemctl` acts on the
/// kubelet whose program is `kubelet`, keeps its command line in `state_dir` and appends a
/// restarted kubelet's output to `log`.
pub fn install(path_dir: &Path, kubelet: &Path, state_dir: &Path, log: &Path) {
    std::fs::create_dir_all(path_dir).unwrap();
    let systemctl = SYSTEMCTL
        .replace("@KUBELET@", &kubelet.display().to_string())
        .replace("@STATE@", &state_dir.display().to_string())
        .replace("@LOG@", &log.display().to_string());
    for (name, text) in [("systemctl", systemctl.as_str()), ("sudo", SUDO)] {
        let path = path_dir.join(name);
        // It may be a link to the machine's own program: replace the link, never write through it.
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    fn systemctl(dir: &Path, args: &[&str]) -> Output {
        Command::new(dir.join("path/systemctl")).args(args).output().unwrap()
    }

    fn stdout(out: &Output) -> String {
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The PID whose command line is exactly `args`, waiting a while for it to appear.
    fn pid_running(args: &[&str]) -> Option<u32> {
        let wanted: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                if std::fs::read(entry.path().join("cmdline")).ok().as_deref() == Some(&wanted[..])
                {
                    return entry.file_name().to_string_lossy().parse().ok();
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    #[test]
    fn the_kubelet_unit_stops_and_starts_the_kubelet_process_with_its_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        // A "kubelet" that only sleeps: a link to sleep, so its argv[0] is the link's path.
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let kubelet = dir.join("bin/kubelet");
        std::os::unix::fs::symlink("/bin/sleep", &kubelet).unwrap();
        install(&dir.join("path"), &kubelet, dir, &dir.join("kubelet.log"));
        let kubelet_str = kubelet.display().to_string();
        let args = [kubelet_str.as_str(), "300"];

        assert_eq!(systemctl(dir, &["list-units", "--state=running", "*kubelet*"]).stdout, b"");
        let mut first = Command::new(&kubelet).arg("300").spawn().unwrap();
        assert!(stdout(&systemctl(dir, &["list-units", "*kubelet*"])).contains("active running"));

        assert!(systemctl(dir, &["restart", "kubelet-e2e.service"]).status.success());
        first.wait().unwrap();
        let second = pid_running(&args).expect("kubelet started again with its command line");
        assert_ne!(second, first.id());

        assert!(systemctl(dir, &["stop", "kubelet-e2e.service"]).status.success());
        let inactive = systemctl(dir, &["is-active", "kubelet-e2e.service"]);
        assert_eq!((stdout(&inactive).trim(), inactive.status.code()), ("inactive", Some(3)));

        assert!(systemctl(dir, &["start", "kubelet-e2e.service"]).status.success());
        let third = pid_running(&args).expect("kubelet started with its last command line");
        assert!(systemctl(dir, &["stop", "kubelet-e2e.service"]).status.success());
        assert_ne!(third, second);

        assert_eq!(systemctl(dir, &["restart", "containerd.service"]).status.code(), Some(5));
    }
}
