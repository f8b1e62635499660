//! Checks the CRI socket path: free, a stale file cricket will replace, or served by a live
//! cricket (which holds the lock beside it); anything else is in the way.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::Finding;

/// Whether another process holds the lock `cricket serve` takes beside the socket.
fn lock_held(socket: &Path) -> bool {
    let lock = PathBuf::from(format!("{}.lock", socket.display()));
    match std::fs::OpenOptions::new().write(true).open(lock) {
        Ok(file) => matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

pub async fn listen(socket: &Path) -> Finding {
    let what = "socket";
    let path = socket.display();
    let meta = match std::fs::symlink_metadata(socket) {
        Ok(meta) => meta,
        Err(_) => return Finding::ok(what, format!("{path} is free")),
    };
    if !meta.file_type().is_socket() {
        return Finding::fail(
            what,
            format!("{path} exists and is not a socket"),
            format!("remove {path}, or set listen to another path"),
        );
    }
    let answers = tokio::net::UnixStream::connect(socket).await.is_ok();
    match (answers, lock_held(socket)) {
        (true, true) => Finding::ok(what, format!("{path} is served by a live cricket")),
        (false, false) => {
            Finding::ok(what, format!("{path} is a stale socket (cricket replaces it at start)"))
        }
        (true, false) => Finding::fail(
            what,
            format!("{path} is served by something other than cricket"),
            "stop that server, or set listen to another path",
        ),
        (false, true) => Finding::fail(
            what,
            format!("a cricket holds the lock of {path} but does not answer"),
            "wait for it to start, or stop it",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn free_stale_and_foreign_sockets() {
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("c.sock");
        assert!(listen(&sock).await.detail.contains("is free"));
        let foreign = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(listen(&sock).await.detail.contains("something other than cricket"));
        drop(foreign);
        assert!(listen(&sock).await.detail.contains("stale socket"));
        std::fs::remove_file(&sock).unwrap();
        std::fs::write(&sock, b"").unwrap();
        assert!(!listen(&sock).await.passed());
    }
}
