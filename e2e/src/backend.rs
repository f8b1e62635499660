//! Which containerd (and runc) the containerd-dependent tests run on, chosen by the
//! environment variable `CRICKET_E2E_CONTAINERD`:
//! - unset or `1.6`: Debian 12's containerd and runc packages, found on `PATH`;
//! - `2`: containerd 2.x (with its runc shim and `ctr`) and runc 1.x, built from the modules
//!   at `e2e/containerd2` and `e2e/runc` and put first on the `PATH` of every process the
//!   harness starts: containerd (so its shims find this runc), cricket (whose `runc features`
//!   must ask the same runc) and `ctr`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::go_build::{build_in_module, required_version, ModuleTarget};

/// The environment variable that picks the backend.
pub const VARIABLE: &str = "CRICKET_E2E_CONTAINERD";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Debian 12's packages (containerd 1.6, runc 1.1).
    Debian,
    /// containerd 2.x and runc 1.x built from the pinned modules.
    Built2,
}

impl Backend {
    /// The backend this test process runs on.
    pub fn current() -> Backend {
        match std::env::var(VARIABLE).as_deref() {
            Ok("2") => Backend::Built2,
            Ok("1.6") | Ok("") | Err(_) => Backend::Debian,
            Ok(other) => panic!("{VARIABLE}={other}: expected 1.6 or 2"),
        }
    }

    /// The start of the version containerd reports, e.g. "1." or "v2.".
    pub fn version_prefix(self) -> &'static str {
        match self {
            Backend::Debian => "1.",
            Backend::Built2 => "v2.",
        }
    }
}

/// A command running `program` with the current backend's programs first on its `PATH`.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    set_path(&mut cmd);
    cmd
}

/// Puts the current backend's programs first on `cmd`'s `PATH`.
pub fn set_path(cmd: &mut Command) {
    if let Some(path) = search_path() {
        cmd.env("PATH", path);
    }
}

/// The `PATH` that finds the current backend's programs first (`None`: the inherited one).
pub fn search_path() -> Option<&'static OsStr> {
    static PATH: OnceLock<Option<OsString>> = OnceLock::new();
    PATH.get_or_init(|| match Backend::current() {
        Backend::Debian => None,
        Backend::Built2 => {
            let dir = built2_bin_dir();
            let inherited = std::env::var_os("PATH").unwrap_or_default();
            Some(
                std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&inherited)))
                    .expect("PATH"),
            )
        }
    })
    .as_deref()
}

/// A directory with containerd, containerd-shim-runc-v2, ctr and runc built from the pinned
/// modules (links to the cached builds), built if missing.
pub fn built2_bin_dir() -> PathBuf {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR"));
    let containerd_module = e2e.join("containerd2");
    let version = required_version(&containerd_module, "github.com/containerd/containerd/v2");
    let stamp = [format!("github.com/containerd/containerd/v2/version.Version={version}")];
    let mut programs: Vec<(&str, PathBuf)> = ["containerd", "containerd-shim-runc-v2", "ctr"]
        .into_iter()
        .map(|p| {
            (
                p,
                build_in_module(
                    &containerd_module,
                    ModuleTarget::Program(&format!("github.com/containerd/containerd/v2/cmd/{p}")),
                    p,
                    &[],
                    &stamp,
                ),
            )
        })
        .collect();
    let runc = build_in_module(
        &e2e.join("runc"),
        ModuleTarget::CgoProgram("github.com/opencontainers/runc", "seccomp urfave_cli_no_docs"),
        "runc",
        &[],
        &[],
    );
    programs.push(("runc", runc));
    // One directory per set of builds, so a stale link never points at an older build.
    let names: String = programs
        .iter()
        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let digest = containerd_bridge::sha256_digest(names.as_bytes());
    let dir = programs[0]
        .1
        .parent()
        .unwrap()
        .join(format!("containerd2-bin-{}", &digest["sha256:".len()..][..16]));
    // A directory copied from another checkout's target may hold links into that checkout.
    if dir.exists() && !programs.iter().all(|(name, _)| dir.join(name).exists()) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if !dir.exists() {
        let partial = dir.with_extension(format!("part-{}", std::process::id()));
        std::fs::create_dir_all(&partial).unwrap();
        for (name, binary) in &programs {
            // Relative links, so the target directory can move or be copied whole.
            let target = if binary.parent() == dir.parent() {
                Path::new("..").join(binary.file_name().unwrap())
            } else {
                binary.clone()
            };
            std::os::unix::fs::symlink(target, partial.join(name)).unwrap();
        }
        if std::fs::rename(&partial, &dir).is_err() {
            // Another test process linked the same set first.
            let _ = std::fs::remove_dir_all(&partial);
        }
    }
    dir
}
