//! Pod network namespaces, pinned by a bind mount so they outlive the thread that made them
//! (FIELD-GUIDE §3). Namespace switching happens on a thread of its own that then exits,
//! never on an async worker, so no other task ever runs in a pod's namespace.

use std::io;
use std::path::{Path, PathBuf};

use crate::mounts::{c_path, unmount_if_mounted};

/// Creates, pins and removes network namespaces: the platform edge, behind a trait so
/// sandbox logic can be tested without root.
pub trait NetnsManager: Send + Sync {
    /// A new namespace with `lo` up, pinned at `<dir>/<name>`; returns the pin path.
    fn create(&self, name: &str) -> io::Result<PathBuf>;
    /// Unpins and deletes the pin file; a missing one is fine.
    fn remove(&self, path: &Path) -> io::Result<()>;
}

/// The Linux implementation: pins live under one directory (`state_dir/netns`).
pub struct LinuxNetns {
    dir: PathBuf,
}

impl LinuxNetns {
    pub fn new(dir: impl Into<PathBuf>) -> LinuxNetns {
        LinuxNetns { dir: dir.into() }
    }
}

fn check(ret: libc::c_int, what: &str) -> io::Result<()> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

/// Sets the `IFF_UP` flag of `lo` in the calling thread's network namespace.
fn loopback_up() -> io::Result<()> {
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        check(sock, "socket")?;
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let mut result = check(libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req), "get lo flags");
        if result.is_ok() {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = check(libc::ioctl(sock, libc::SIOCSIFFLAGS, &req), "set lo up");
        }
        libc::close(sock);
        result
    }
}

/// Runs on a dedicated thread: enter a new network namespace and pin it onto `pin`.
fn unshare_and_pin(pin: &Path) -> io::Result<()> {
    let target = c_path(pin)?;
    unsafe { check(libc::unshare(libc::CLONE_NEWNET), "unshare(CLONE_NEWNET)") }?;
    loopback_up()?;
    let source = c_path(Path::new(&format!("/proc/self/task/{}/ns/net", unsafe { libc::gettid() })))?;
    unsafe {
        check(
            libc::mount(source.as_ptr(), target.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()),
            "bind-mount the namespace",
        )
    }
}

impl NetnsManager for LinuxNetns {
    fn create(&self, name: &str) -> io::Result<PathBuf> {
        if name.is_empty() || name.contains('/') {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad netns name {name:?}")));
        }
        std::fs::create_dir_all(&self.dir)?;
        let pin = self.dir.join(name);
        std::fs::OpenOptions::new().write(true).create_new(true).open(&pin)?;
        let thread_pin = pin.clone();
        let made = std::thread::Builder::new()
            .name("cricket-netns".into())
            .spawn(move || unshare_and_pin(&thread_pin))?
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netns thread panicked")));
        if let Err(e) = made {
            let _ = self.remove(&pin);
            return Err(e);
        }
        Ok(pin)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        unmount_if_mounted(path)?;
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
