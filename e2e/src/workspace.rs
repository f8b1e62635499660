//! Private directories and names for one test, and where the built binaries are.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A test's own corner of the machine: `/run/cricket-e2e-<id>` for volatile state (sockets,
/// netns pins) and `/var/lib/cricket-e2e-<id>` for state on disk (containerd's root).
#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: String,
    pub run_dir: PathBuf,
    pub lib_dir: PathBuf,
}

impl Workspace {
    pub fn new() -> Workspace {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:x}{:02x}", std::process::id(), n);
        let run_dir = PathBuf::from(format!("/run/cricket-e2e-{id}"));
        let lib_dir = PathBuf::from(format!("/var/lib/cricket-e2e-{id}"));
        for dir in [&run_dir, &lib_dir] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        Workspace { id, run_dir, lib_dir }
    }

    pub fn run(&self, name: &str) -> PathBuf {
        self.run_dir.join(name)
    }

    pub fn lib(&self, name: &str) -> PathBuf {
        self.lib_dir.join(name)
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

/// The cricket binary under test: `$CRICKET_BIN`, else the workspace's debug build.
pub fn cricket_binary() -> PathBuf {
    built_binary("debug", "cargo build --bins")
}

/// The optimised cricket binary that benchmarks measure: `$CRICKET_BIN`, else the release build.
pub fn cricket_release_binary() -> PathBuf {
    built_binary("release", "cargo build --release --bins")
}

fn built_binary(profile: &str, how: &str) -> PathBuf {
    if let Ok(path) = std::env::var("CRICKET_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(profile).join("cricket");
    assert!(path.exists(), "{} is missing: run `{how}` first (or set CRICKET_BIN)", path.display());
    path
}
