//! Namespaces of the calling thread: leave for new ones, join a pinned one, and set up what a
//! new one needs (loopback up, a hostname). Each call changes only the thread that makes it.

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::check;

/// Moves the calling thread into new namespaces of the `CLONE_NEW*` kinds in `flags`.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes only flags and changes only the calling thread's namespaces.
    check(unsafe { libc::unshare(flags) }, "unshare")
}

/// Moves the calling thread into the network namespace pinned at `pin`.
pub fn enter_net(pin: &Path) -> io::Result<()> {
    enter(pin, libc::CLONE_NEWNET)
}

/// Moves the calling thread into the namespace of kind `nstype` (a `CLONE_NEW*`) pinned at `pin`.
pub fn enter(pin: &Path, nstype: libc::c_int) -> io::Result<()> {
    let file = std::fs::File::open(pin)?;
    // SAFETY: `file` is an open descriptor for the duration of the call.
    check(unsafe { libc::setns(file.as_raw_fd(), nstype) }, "setns")
}

/// Sets the hostname in the calling thread's UTS namespace.
pub fn set_hostname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive the call.
    check(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }, "sethostname")
}

/// The calling thread's namespace file of `kind` (`net`, `ipc`, `uts`): the thread's own, not
/// the process's, which `/proc/self/ns` would name.
pub fn own_ns_file(kind: &str) -> PathBuf {
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    PathBuf::from(format!("/proc/self/task/{tid}/ns/{kind}"))
}

/// Sets the `IFF_UP` flag of `lo` in the calling thread's network namespace.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket takes plain integers; the descriptor is owned (and closed) below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(sock, "socket")?;
    // SAFETY: `sock` was just opened and nothing else owns it.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(sock) };
    // SAFETY: an all-zero ifreq is valid: an empty name and zero flags.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the NUL-terminated name and fills the flags of `req`, which
    // outlives the call.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) }, "get lo flags")?;
    // SAFETY: the union member SIOCGIFFLAGS just filled is `ifru_flags`.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the name and flags of `req`, which outlives the call.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) }, "set lo up")
}
