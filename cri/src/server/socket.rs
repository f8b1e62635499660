use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

/// Proof that this process owns the socket path: holds the lock file, and removes the
/// socket when dropped (at a clean exit).
pub struct SocketGuard {
    pub path: PathBuf,
    _lock: File,
}

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("another cricket is serving {0} (its lock {1} is held)")]
    LockHeld(PathBuf, PathBuf),
    #[error("something is already serving {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: io::Error },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SocketError + 'a {
    move |source| SocketError::Io { what, path: path.to_path_buf(), source }
}

/// Binds the CRI socket at `path`: its directory is created 0700 if missing, a stale socket
/// file is replaced, a live one (or another cricket's lock) is an error, and the socket is 0660.
pub fn bind(path: &Path) -> Result<(UnixListener, SocketGuard), SocketError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        std::fs::set_permissions(dir, Permissions::from_mode(0o700))
            .map_err(io_err("chmod", dir))?;
    }
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err("open lock", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(SocketError::LockHeld(path.into(), lock_path))
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
    }
    remove_stale(path)?;
    let std_listener =
        std::os::unix::net::UnixListener::bind(path).map_err(io_err("bind", path))?;
    std::fs::set_permissions(path, Permissions::from_mode(0o660)).map_err(io_err("chmod", path))?;
    std_listener.set_nonblocking(true).map_err(io_err("set non-blocking", path))?;
    let listener = UnixListener::from_std(std_listener).map_err(io_err("listen", path))?;
    Ok((listener, SocketGuard { path: path.into(), _lock: lock }))
}

/// Removes a socket file nobody answers on; refuses to touch anything else.
fn remove_stale(path: &Path) -> Result<(), SocketError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("stat", path)(e)),
    };
    if !meta.file_type().is_socket() {
        return Err(SocketError::NotASocket(path.into()));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(SocketError::InUse(path.into()));
    }
    std::fs::remove_file(path).map_err(io_err("remove stale socket", path))
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[tokio::test]
    async fn creates_a_private_directory_and_a_0660_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub/cri.sock");
        let bound = bind(&path).unwrap();
        assert_eq!(std::fs::metadata(tmp.path().join("sub")).unwrap().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o660);
        drop(bound);
        assert!(!path.exists(), "a clean exit removes the socket");
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_but_a_live_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cri.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves a dead socket file
        let first = bind(&path).unwrap();
        match bind(&path) {
            Err(SocketError::LockHeld(..)) => {}
            other => panic!("expected the lock to be held, got {:?}", other.map(|_| ())),
        }
        drop(first);
        let _live = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(matches!(bind(&path), Err(SocketError::InUse(_))));
    }

    #[tokio::test]
    async fn a_regular_file_is_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cri.sock");
        std::fs::write(&path, b"precious").unwrap();
        assert!(matches!(bind(&path), Err(SocketError::NotASocket(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    }
}
