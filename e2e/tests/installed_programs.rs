//! Every external program the tests and the node set-up run comes from a package that the
//! scripts install (or from Debian's required base), so a green run here cannot hide a missing
//! install step on a fresh machine. A program the code runs that is not in the table below
//! fails the test too, naming where it is run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Each program and the Debian package it comes from.
const PROGRAMS: &[(&str, &str)] = &[
    ("containerd", "containerd"),
    ("ctr", "containerd"),
    ("runc", "runc"),
    ("ip", "iproute2"),
    ("iptables", "iptables"),
    ("iptables-save", "iptables"),
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("htpasswd", "apache2-utils"),
    ("openssl", "openssl"),
    ("apparmor_parser", "apparmor"),
    ("systemd-analyze", "systemd"),
    ("go", "golang-go"),
    ("gcc", "gcc"),
    ("protoc", "protobuf-compiler"),
    ("/bin/busybox", "busybox-static"),
    ("nsenter", "util-linux"),
    ("script", "bsdutils"),
    ("find", "findutils"),
    ("busybox", "busybox-static"),
    ("mount", "mount"),
    ("dpkg-query", "dpkg"),
    ("dpkg-deb", "dpkg"),
    ("ldd", "libc-bin"),
    ("sh", "dash"),
    ("sleep", "coreutils"),
    ("true", "coreutils"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The packages a script's `packages=(...)` array names.
fn packages_of(script: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join(script)).unwrap();
    let start =
        text.find("packages=(").unwrap_or_else(|| panic!("{script} has a packages=(...) list"))
            + "packages=(".len();
    let list = &text[start..start + text[start..].find(')').unwrap()];
    list.lines()
        .map(|l| l.split('#').next().unwrap())
        .flat_map(str::split_whitespace)
        .map(String::from)
        .collect()
}

/// Whether Debian marks the package required (present on every Debian system).
fn required_by_debian(package: &str) -> bool {
    let out = Command::new("dpkg-query").args(["-W", "-f=${Priority}", package]).output().unwrap();
    String::from_utf8_lossy(&out.stdout) == "required"
}

fn installed(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).is_file();
    }
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn every_program_the_tests_run_comes_from_a_package_the_scripts_install() {
    let packages = packages_of("e2e/run-all.sh");
    let mut problems = Vec::new();
    for (program, package) in PROGRAMS {
        if !packages.contains(&package.to_string()) && !required_by_debian(package) {
            problems.push(format!("{program}: add {package} to the packages in e2e/run-all.sh"));
        }
        if !installed(program) {
            problems.push(format!("{program} is not installed: apt-get install {package}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_node_set_up_installs_what_it_runs() {
    let packages = packages_of("manifests/setup-node.sh");
    for needed in ["containerd", "runc", "containernetworking-plugins", "iptables", "curl"] {
        assert!(
            packages.contains(&needed.to_string()),
            "manifests/setup-node.sh installs {needed}"
        );
    }
}

/// The programs that the Rust files under `dir` start by a literal name (through
/// `Command::new`, the registry's `in_netns`, the backend's `command` or a cluster's
/// `command`), each with its file.
fn programs_run_under(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            programs_run_under(&path, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for marker in [
            "Command::new(\"",
            "in_netns(netns, \"",
            "in_netns(self.netns.as_deref(), \"",
            ".command(\"",
            "backend::command(\"",
        ] {
            for part in text.split(marker).skip(1) {
                let name = &part[..part.find('"').unwrap()];
                found.push((name.to_string(), path.display().to_string()));
            }
        }
    }
}

#[test]
fn every_program_the_code_runs_is_in_the_table() {
    let mut found = Vec::new();
    for dir in
        ["e2e/src", "e2e/tests", "e2e/benches", "cri/src", "cni/src", "containerd-bridge/src"]
    {
        programs_run_under(&repo().join(dir), &mut found);
    }
    assert!(found.len() >= 10, "the scan finds the programs: {found:?}");
    let missing: Vec<_> =
        found.iter().filter(|(name, _)| !PROGRAMS.iter().any(|(p, _)| p == name)).collect();
    assert!(
        missing.is_empty(),
        "programs run but not in PROGRAMS (add each with its package): {missing:?}"
    );
}
