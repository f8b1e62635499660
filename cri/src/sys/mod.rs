//! The platform: every call cricket makes into the kernel or libc directly. Each `unsafe`
//! block lives here, with the reason it is sound; the rest of cricket uses these safe wrappers.

pub mod blocking;
pub mod clock;
pub mod fifo;
pub mod memory;
pub mod mount;
pub mod namespace;
pub mod process;
pub mod random;
pub mod signal;
pub mod userns;

use std::ffi::CString;
use std::io;
use std::path::Path;

/// `p` as a C string for a syscall.
pub fn c_path(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// A syscall's return value as a result: below zero is `errno`, named with `what`.
fn check(ret: libc::c_int, what: &str) -> io::Result<()> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}
