//! A user namespace with the ID mappings a pod was given, and new namespaces owned by it.
//! unshare(CLONE_NEWUSER) refuses a multi-threaded caller, so a forked child makes them; the
//! caller pins them (through `/proc/<child>/ns/*`) and then lets the child exit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use super::check;

/// One range of a user namespace's ID mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container_id: u32,
    pub host_id: u32,
    pub length: u32,
}

/// The text of a `uid_map` or `gid_map` file.
pub fn map_text(ranges: &[IdRange]) -> String {
    ranges.iter().map(|r| format!("{} {} {}\n", r.container_id, r.host_id, r.length)).collect()
}

/// A child process in a new user namespace, and in new namespaces of the `CLONE_NEW*` kinds
/// it was asked for, owned by that user namespace. It exits when the holder is dropped.
pub struct NamespaceHolder {
    pid: libc::pid_t,
    release: Option<OwnedFd>,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, "pipe2")?;
    // SAFETY: pipe2 just opened both descriptors and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The forked child: only async-signal-safe calls (raw syscalls), as the parent has threads.
fn child(flags: libc::c_int, ready: &OwnedFd, release_r: &OwnedFd, release_w: &OwnedFd) -> ! {
    // SAFETY: close, unshare, write, read and _exit are plain syscalls, safe after fork in a
    // multi-threaded process; the descriptors are valid (inherited) and the buffer is local.
    unsafe {
        libc::close(release_w.as_raw_fd());
        let ok: u8 = (libc::unshare(libc::CLONE_NEWUSER | flags) == 0).into();
        libc::write(ready.as_raw_fd(), (&ok as *const u8).cast(), 1);
        if ok == 1 {
            let mut byte = 0u8;
            libc::read(release_r.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
        }
        libc::_exit(if ok == 1 { 0 } else { 1 })
    }
}

impl NamespaceHolder {
    /// Forks the child, waits for its namespaces, and writes its mappings.
    pub fn spawn(flags: libc::c_int, uids: &[IdRange], gids: &[IdRange]) -> io::Result<Self> {
        let (ready_r, ready_w) = pipe()?;
        let (release_r, release_w) = pipe()?;
        // SAFETY: the child runs only `child`, which makes raw syscalls and never returns.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            child(flags, &ready_w, &release_r, &release_w);
        }
        check(pid, "fork")?;
        drop((ready_w, release_r));
        let holder = NamespaceHolder { pid, release: Some(release_w) };
        let mut byte = 0u8;
        // SAFETY: the buffer is one local byte; `ready_r` is open.
        let n = unsafe { libc::read(ready_r.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
        if n != 1 || byte != 1 {
            return Err(io::Error::other("the namespace child could not unshare a user namespace"));
        }
        std::fs::write(format!("/proc/{pid}/uid_map"), map_text(uids))
            .map_err(|e| io::Error::new(e.kind(), format!("uid_map: {e}")))?;
        std::fs::write(format!("/proc/{pid}/gid_map"), map_text(gids))
            .map_err(|e| io::Error::new(e.kind(), format!("gid_map: {e}")))?;
        Ok(holder)
    }

    /// The child's namespace file of `kind` (`user`, `net`, `ipc`, `uts`).
    pub fn ns_file(&self, kind: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/{kind}", self.pid))
    }
}

impl Drop for NamespaceHolder {
    fn drop(&mut self) {
        // Closing the pipe's last write end lets the child's read return; then reap it.
        drop(self.release.take());
        let mut status = 0;
        // SAFETY: `pid` is this holder's own child, reaped only here.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}
