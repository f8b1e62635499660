//! Mounts: binds (namespace pins, image volumes), tmpfs (the pod's /dev/shm), read-only
//! overlays (image volumes), propagation, unmounting, and the size and type of a file system.

use std::io;
use std::path::Path;

use super::{c_path, check};

/// Bind-mounts `source` on `target` (an existing file or directory).
pub fn bind(source: &Path, target: &Path) -> io::Result<()> {
    let (s, t) = (c_path(source)?, c_path(target)?);
    // SAFETY: both paths are NUL-terminated and outlive the call; a bind mount reads no fs
    // type or data, so those are NULL.
    let ret = unsafe {
        libc::mount(s.as_ptr(), t.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null())
    };
    check(ret, &format!("bind-mount {} on {}", source.display(), target.display()))
}

/// Bind-mounts `source` (and the mounts below it) on `target`, read-only.
pub fn bind_read_only(source: &Path, target: &Path) -> io::Result<()> {
    let (s, t) = (c_path(source)?, c_path(target)?);
    let what = format!("bind-mount {} on {} read-only", source.display(), target.display());
    // SAFETY: both paths are NUL-terminated and outlive the call; a bind reads no fs type or
    // data, so those are NULL.
    let ret = unsafe {
        libc::mount(
            s.as_ptr(),
            t.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    };
    check(ret, &what)?;
    // A bind takes the flags of its source; read-only needs a remount of the bind.
    // SAFETY: as above; the remount names only the target.
    let ret = unsafe {
        libc::mount(
            std::ptr::null(),
            t.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            std::ptr::null(),
        )
    };
    if let Err(e) = check(ret, &what) {
        let _ = unmount_if_mounted(target);
        return Err(e);
    }
    Ok(())
}

/// Mounts a read-only overlay of `options` (`lowerdir=...` and the like) on `target`.
pub fn overlay_read_only(options: &str, target: &Path) -> io::Result<()> {
    let t = c_path(target)?;
    let options = cstring(options)?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(
            c"overlay".as_ptr(),
            t.as_ptr(),
            c"overlay".as_ptr(),
            libc::MS_RDONLY,
            options.as_ptr().cast(),
        )
    };
    check(ret, &format!("mount a read-only overlay on {}", target.display()))
}

/// Mounts a tmpfs named `name` on `target` with `flags` and `options` (e.g. `size=64m`).
pub fn tmpfs(name: &str, target: &Path, flags: libc::c_ulong, options: &str) -> io::Result<()> {
    let t = c_path(target)?;
    let (name, options) = (cstring(name)?, cstring(options)?);
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(name.as_ptr(), t.as_ptr(), c"tmpfs".as_ptr(), flags, options.as_ptr().cast())
    };
    check(ret, &format!("mount tmpfs on {}", target.display()))
}

/// Makes the mount at `mount_point`, and every mount below it, shared.
pub fn make_rshared(mount_point: &Path) -> io::Result<()> {
    let t = c_path(mount_point)?;
    // SAFETY: `t` is NUL-terminated and outlives the call; a propagation change reads no
    // source, fs type or data, so those are NULL.
    let ret = unsafe {
        libc::mount(
            std::ptr::null(),
            t.as_ptr(),
            std::ptr::null(),
            libc::MS_SHARED | libc::MS_REC,
            std::ptr::null(),
        )
    };
    check(ret, &format!("make {} shared", mount_point.display()))
}

/// Lazily unmounts `path`; not mounted (EINVAL) or missing (ENOENT) is fine.
pub fn unmount_if_mounted(path: &Path) -> io::Result<()> {
    let target = c_path(path)?;
    // SAFETY: `target` is NUL-terminated and outlives the call.
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } < 0 {
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) {
            return Err(e);
        }
    }
    Ok(())
}

/// Whether `path` is an nsfs file: a namespace bind-mounted there (a pin).
pub fn is_nsfs(path: &Path) -> bool {
    const NSFS_MAGIC: libc::c_long = 0x6e73_6673;
    let Ok(p) = c_path(path) else { return false };
    // SAFETY: an all-zero statfs is a valid value for statfs(2) to fill in.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is NUL-terminated and `st` outlives the call.
    let ok = unsafe { libc::statfs(p.as_ptr(), &mut st) } == 0;
    ok && st.f_type as libc::c_long == NSFS_MAGIC
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

fn cstring(s: &str) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(s)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a mount argument"))
}
