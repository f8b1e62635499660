//! The pod's /dev/shm: a 64 MiB tmpfs of its own (unless it shares the node's IPC namespace),
//! mounted under the sandbox directory and bound into its containers.

use std::io;
use std::path::{Path, PathBuf};

/// kubelet-era runtimes give every pod this much shared memory.
const SIZE: &str = "size=65536k";

pub fn path(sandbox_dir: &Path) -> PathBuf {
    sandbox_dir.join("shm")
}

fn c_path(p: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

pub fn mount(at: &Path) -> io::Result<()> {
    std::fs::create_dir_all(at)?;
    let target = c_path(at)?;
    let data = std::ffi::CString::new(format!("mode=1777,{SIZE}")).expect("no NUL");
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let ret = unsafe { libc::mount(c"shm".as_ptr(), target.as_ptr(), c"tmpfs".as_ptr(), flags, data.as_ptr().cast()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Unmounts if mounted; a missing or unmounted path is fine.
pub fn unmount(at: &Path) -> io::Result<()> {
    let target = c_path(at)?;
    let ret = unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    if ret < 0 {
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) {
            return Err(e);
        }
    }
    Ok(())
}
