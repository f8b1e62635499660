//! Named pipes (FIFOs): how containerd's shims take a process's standard streams by path.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use tokio::net::unix::pipe;

/// Makes a FIFO at `path` (mode 0600), replacing whatever was there.
pub fn make(path: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let c_path = super::c_path(path)?;
    // SAFETY: `c_path` is NUL-terminated and outlives the call.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The writing end of a FIFO, opened by a thread that waits until a reader has it open.
///
/// Writing before the reader exists can lose the input and the end of it: a FIFO's buffer
/// is discarded when its last opener closes, so if cricket wrote and closed before a shim's
/// reader had opened, the reader would wait forever for a writer. Waiting for the reader,
/// as containerd's own clients do, makes every byte and the end arrive.
pub struct PendingWriter {
    path: PathBuf,
    open: Option<tokio::task::JoinHandle<std::io::Result<std::fs::File>>>,
}

impl PendingWriter {
    /// Starts waiting for a reader of the FIFO at `path`.
    pub fn start(path: &Path) -> Self {
        let to_open = path.to_path_buf();
        let open = tokio::task::spawn_blocking(move || {
            std::fs::OpenOptions::new().write(true).open(to_open)
        });
        PendingWriter { path: path.to_path_buf(), open: Some(open) }
    }

    /// The writer, once a reader has opened the FIFO.
    pub async fn connected(mut self) -> std::io::Result<pipe::Sender> {
        let open = self.open.take().expect("a pending writer has its open");
        let file = open.await.map_err(std::io::Error::other)??;
        pipe::Sender::from_file(file)
    }
}

impl Drop for PendingWriter {
    /// A writer nobody connected (the process never started) still waits in its thread.
    fn drop(&mut self) {
        if self.open.as_ref().is_some_and(|o| !o.is_finished()) {
            release_writers(&self.path);
        }
    }
}

/// Lets writers waiting to open the FIFO at `path` go: a reader of our own opens and closes
/// (a waiting writer's open returns once any reader has come, even one gone since).
pub fn release_writers(path: &Path) {
    let _ = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
}
