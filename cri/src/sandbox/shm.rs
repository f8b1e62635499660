//! The pod's /dev/shm: a 64 MiB tmpfs of its own (unless it shares the node's IPC namespace),
//! mounted under the sandbox directory and bound into its containers.

use std::io;
use std::path::{Path, PathBuf};

use crate::sys::blocking::off_workers;
use crate::sys::mount::unmount_if_mounted;

/// kubelet-era runtimes give every pod this much shared memory.
const SIZE: &str = "size=65536k";

pub fn path(sandbox_dir: &Path) -> PathBuf {
    sandbox_dir.join("shm")
}

pub async fn mount(at: &Path) -> io::Result<()> {
    let at = at.to_path_buf();
    off_workers(move || {
        std::fs::create_dir_all(&at)?;
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        crate::sys::mount::tmpfs("shm", &at, flags, &format!("mode=1777,{SIZE}"))
    })
    .await
}

/// Unmounts if mounted; a missing or unmounted path is fine.
pub async fn unmount(at: &Path) -> io::Result<()> {
    let at = at.to_path_buf();
    off_workers(move || unmount_if_mounted(&at)).await
}
