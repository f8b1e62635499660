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
    let cache = std::env::temp_dir().join("cricket-e2e-gocache");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let out = target.join("go-peers").join(format!("{what}-{}", &digest["sha256:".len()..][..16]));
    if out.exists() {
        return out;
    }
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    // Built under a name of this process's, then renamed: concurrent builders never clash.
    let partial = out.with_extension(format!("part-{}", std::process::id()));
    let mut cmd = go(&partial, &cache);
    let (ok, _, err) = run(&mut cmd);
    assert!(ok, "building {what} failed: {cmd:?}: {err}");
    std::fs::rename(&partial, &out).unwrap();
    out
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
    /// `go test -c` of a package the module requires (a test suite as one binary).
    TestSuite(&'a str),
}

/// Builds `target` in the module at `module` (its go.mod and go.sum pin every version) once
/// per version of `inputs`, of `x_flags` (`-X` settings of package variables, such as a
/// version stamp) and of the Go toolchain. Modules come from the Go module proxy.
pub fn build_in_module(module: &Path, target: ModuleTarget, what: &str, inputs: &[&Path], x_flags: &[String]) -> PathBuf {
    let mut key = Vec::new();
    for input in [module.join("go.mod"), module.join("go.sum")].iter().map(PathBuf::as_path).chain(inputs.iter().copied()) {
        key.extend(std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display())));
    }
    let (_, version, _) = run(Command::new("go").arg("version"));
    key.extend(version.as_bytes());
    let ldflags = std::iter::once("-s -w".to_string()).chain(x_flags.iter().map(|x| format!("-X {x}"))).collect::<Vec<_>>().join(" ");
    key.extend(ldflags.as_bytes());
    cached(&key, what, |partial, cache| {
        let mut cmd = Command::new("go");
        match target {
            ModuleTarget::Program(package) => cmd.args(["build", "-trimpath", &format!("-ldflags={ldflags}"), "-o"]).arg(partial).arg(package),
            ModuleTarget::TestSuite(package) => cmd.args(["test", "-c", "-o"]).arg(partial).arg(package),
        };
        cmd.current_dir(module).env("GOFLAGS", "-mod=readonly").env("CGO_ENABLED", "0").env("GO111MODULE", "on").env("GOCACHE", cache);
        cmd
    })
}
