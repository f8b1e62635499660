//! Builds the Go test peers once per source version: small clients from Debian's Go packages
//! (GOPATH mode), and critest with its stand-in programs from a module of the project's own
//! with pinned versions (module mode, from the Go module proxy). Each binary is kept in the
//! cargo target directory (`go-peers/`), named by a hash of its inputs, so test processes
//! share it and a later run reuses it; Go's own build cache stays in the temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::run;

/// The binary `what` for these input bytes: built by `go` (given the path to write) unless a
/// build of the same inputs is kept already.
fn cached(key: &[u8], what: &str, go: impl FnOnce(&Path, &Path) -> Command) -> PathBuf {
    let digest = containerd_bridge::sha256_digest(key);
    let cache = build_cache_dir();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let out = target.join("go-peers").join(format!("{what}-{}", &digest["sha256:".len()..][..16]));
    if out.exists() {
        return out;
    }
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    // One builder at a time: a process that waited here finds the binary built.
    let _lock = BuildLock::take(Path::new(&format!("{}.lock", out.display())));
    if out.exists() {
        return out;
    }
    // Built under a name of this process's, then renamed: concurrent builders never clash.
    let partial = out.with_extension(format!("part-{}", std::process::id()));
    let mut cmd = go(&partial, &cache);
    let (ok, _, err) = run(&mut cmd);
    assert!(ok, "building {what} failed: {cmd:?}: {err}");
    std::fs::rename(&partial, &out).unwrap();
    out
}

/// Go's build cache for these builds: only a compile-time speed-up, since every binary is kept.
fn build_cache_dir() -> PathBuf {
    std::env::temp_dir().join("cricket-e2e-gocache")
}

/// Removes Go's build cache (some 5 GB once Kubernetes is built): the binaries it produced are
/// kept, and a later change of a pinned version rebuilds from the module cache.
pub fn remove_build_cache() {
    match std::fs::remove_dir_all(build_cache_dir()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("removing {}: {e}", build_cache_dir().display()),
    }
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
struct BuildLock {
    _file: std::fs::File,
}

impl BuildLock {
    fn take(path: &Path) -> BuildLock {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns; it blocks until the lock is free.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}: {}", path.display(), std::io::Error::last_os_error());
        BuildLock { _file: file }
    }
}

/// The binary built from `source` (a `main.go`) with Debian's golang-go and the Go library
/// packages run-all.sh installs, building it if this version is not there.
pub fn build(source: &Path, what: &str) -> PathBuf {
    let text = std::fs::read(source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    cached(&text, what, |partial, cache| {
        let mut cmd = Command::new("go");
        cmd.args(["build", "-o"])
            .arg(partial)
            .arg(source)
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env("GOCACHE", cache)
            .env("GOFLAGS", "");
        cmd
    })
}

/// What to build from a Go module of the project's own.
pub enum ModuleTarget<'a> {
    /// `go build` of a package of the module (a static binary, no cgo).
    Program(&'a str),
    /// `go build` of a package with cgo and these build tags (links against Debian's libraries).
    CgoProgram(&'a str, &'a str),
    /// `go test -c` of a package the module requires (a test suite as one binary).
    TestSuite(&'a str),
}

/// Builds `target` in the module at `module` (its go.mod and go.sum pin every version) once
/// per version of `inputs`, of `x_flags` (`-X` settings of package variables, such as a
/// version stamp) and of the Go toolchain. Modules come from the Go module proxy.
pub fn build_in_module(
    module: &Path,
    target: ModuleTarget,
    what: &str,
    inputs: &[&Path],
    x_flags: &[String],
) -> PathBuf {
    let mut key = Vec::new();
    for input in [module.join("go.mod"), module.join("go.sum")]
        .iter()
        .map(PathBuf::as_path)
        .chain(inputs.iter().copied())
    {
        key.extend(std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display())));
    }
    let (_, version, _) = run(Command::new("go").arg("version"));
    key.extend(version.as_bytes());
    let ldflags = std::iter::once("-s -w".to_string())
        .chain(x_flags.iter().map(|x| format!("-X {x}")))
        .collect::<Vec<_>>()
        .join(" ");
    key.extend(ldflags.as_bytes());
    cached(&key, what, |partial, cache| {
        let mut cmd = Command::new("go");
        let cgo = match target {
            ModuleTarget::Program(package) => {
                cmd.args(["build", "-trimpath", &format!("-ldflags={ldflags}"), "-o"])
                    .arg(partial)
                    .arg(package);
                "0"
            }
            ModuleTarget::CgoProgram(package, tags) => {
                cmd.args([
                    "build",
                    "-trimpath",
                    "-tags",
                    tags,
                    &format!("-ldflags={ldflags}"),
                    "-o",
                ])
                .arg(partial)
                .arg(package);
                "1"
            }
            ModuleTarget::TestSuite(package) => {
                cmd.args([
                    "test",
                    "-c",
                    "-vet=off",
                    "-trimpath",
                    &format!("-ldflags={ldflags}"),
                    "-o",
                ])
                .arg(partial)
                .arg(package);
                "0"
            }
        };
        cmd.current_dir(module)
            .env("GOFLAGS", "-mod=readonly")
            .env("CGO_ENABLED", cgo)
            .env("GO111MODULE", "on")
            .env("GOCACHE", cache);
        cmd
    })
}

/// The version of `module_path` that the module at `module` requires, e.g. "v2.4.2".
pub fn required_version(module: &Path, module_path: &str) -> String {
    let go_mod = std::fs::read_to_string(module.join("go.mod"))
        .unwrap_or_else(|e| panic!("{}: {e}", module.display()));
    let line = go_mod
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("require {module_path} ")))
        .unwrap_or_else(|| panic!("{} requires {module_path}", module.display()));
    line.split_whitespace().last().unwrap_or_default().to_string()
}
