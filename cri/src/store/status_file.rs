//! Status files on disk: each replaced atomically, so a crash leaves the old or the new
//! content, and the writes of one object serialized, so the file ends up holding the newest
//! state when an RPC and the event handler update the same object at once.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::locks::MutexExt;
use serde::Serialize;

/// Writers of one object share a lock; unrelated objects rarely do.
const STRIPES: usize = 64;
static LOCKS: [Mutex<()>; STRIPES] = [const { Mutex::new(()) }; STRIPES];
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

fn stripe(id: &str) -> &'static Mutex<()> {
    // FNV-1a: cheap and spreads hex IDs evenly.
    let hash = id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    &LOCKS[(hash % STRIPES as u64) as usize]
}

fn context<'a>(what: &str, path: &'a Path) -> impl FnOnce(std::io::Error) -> std::io::Error + 'a {
    let what = what.to_string();
    move |e| std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Replaces `path` with `bytes`: a temporary file of this write's own in the same directory,
/// fsync, rename, fsync of the directory. Concurrent writers never share a temporary name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::sys::blocking::run(|| write_atomic_here(path, bytes))
}

fn write_atomic_here(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(context("create directory", dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT_TMP.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(context("create", &tmp))?;
        file.write_all(bytes).map_err(context("write", &tmp))?;
        file.sync_all().map_err(context("sync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(context("rename to", path))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(context("sync directory", dir))
}

/// Writes object `id`'s status to `path`. `newest` is asked under the object's lock, so
/// whichever of two writers comes last writes the state the store holds by then.
pub fn save<S: Serialize>(
    path: &Path,
    id: &str,
    newest: impl FnOnce() -> S,
) -> std::io::Result<()> {
    crate::sys::blocking::run(|| {
        let _serialized = stripe(id).locked();
        let bytes = serde_json::to_vec(&newest()).map_err(std::io::Error::other)?;
        write_atomic_here(path, &bytes)
    })
}

/// The status last saved at `path`; none if it is missing or unreadable.
pub fn load<S: serde::de::DeserializeOwned>(path: &Path) -> Option<S> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn concurrent_writers_of_one_file_all_succeed_and_the_newest_state_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("status.json"));
        let state = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let (path, state) = (path.clone(), state.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        state.fetch_add(1, Ordering::SeqCst);
                        save(&path, "one-object", || state.load(Ordering::SeqCst)).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let written: u64 = serde_json::from_slice(&std::fs::read(path.as_ref()).unwrap()).unwrap();
        assert_eq!(written, 400);
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("status.json")], "no temporary file left");
    }

    #[test]
    fn a_failed_write_names_the_path_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a-directory");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        let err = write_atomic(&target, b"x").unwrap_err();
        assert!(err.to_string().contains("a-directory"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
