//! Mount syscalls shared by the netns pins and the pod's /dev/shm.

use std::io;
use std::path::Path;

pub fn c_path(p: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
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
