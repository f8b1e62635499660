//! Named pipes (FIFOs): how containerd's shims take a process's standard streams by path.

use std::path::Path;

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
