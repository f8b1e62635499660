//! Builds the Go test peers (Debian's Go packages, GOPATH mode) once per source version: the
//! binary is kept under the Go build cache's directory, named by a hash of its source, so test
//! processes share it instead of each leaving a copy behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::run;

/// The binary built from `source` (a `main.go`), building it if this version is not there.
pub fn build(source: &Path, what: &str) -> PathBuf {
    let text = std::fs::read(source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let digest = containerd_bridge::sha256_digest(&text);
    let cache = std::env::temp_dir().join("cricket-e2e-gocache");
    let out = cache.join("bin").join(format!("{what}-{}", &digest["sha256:".len()..][..16]));
    if out.exists() {
        return out;
    }
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    // Built under a name of this process's, then renamed: concurrent builders never clash.
    let partial = out.with_extension(format!("part-{}", std::process::id()));
    let (ok, _, err) = run(Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(source)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", &cache)
        .env("GOFLAGS", ""));
    assert!(ok, "building {what} failed (needs Debian's golang-go and the Go library packages run-all.sh installs): {err}");
    std::fs::rename(&partial, &out).unwrap();
    out
}
