//! Mount syscalls shared by the netns pins and the pod's /dev/shm, and the size of a file
//! system.

use std::io;
use std::path::Path;

pub fn c_path(p: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// Lazily unmounts `path`; not mounted (EINVAL) or missing (ENOENT) is fine.
pub fn unmount_if_mounted(path: &Path) -> io::Result<()> {
    let target = c_path(path)?;
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } < 0 {
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) {
            return Err(e);
        }
    }
    Ok(())
}

/// A file system's size: bytes in all, inodes in all, inodes free.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

/// The size of the file system that holds `path`.
pub fn capacity(path: &Path) -> io::Result<Capacity> {
    let p = c_path(path)?;
    // SAFETY: an all-zero statvfs is a valid value for statvfs(3) to fill in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is a NUL-terminated path and `st` outlives the call.
    if unsafe { libc::statvfs(p.as_ptr(), &mut st) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Capacity { bytes: st.f_blocks * st.f_frsize, inodes: st.f_files, inodes_free: st.f_ffree })
}
