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
