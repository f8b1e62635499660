//! A pod's network, IPC and UTS namespaces (and, for a pod with its own user namespace, that
//! one, owning the others), pinned by bind mounts so they outlive whatever made them.
//! Namespace switching happens on a thread of its own that then exits, never on an async
//! worker, so no other task ever runs in a pod's namespace. With the namespaces pinned, a runc
//! pod needs no pause process (CRI-O's "drop infra").

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sys::mount::unmount_if_mounted;
use crate::sys::namespace;
use crate::sys::userns::{IdRange, NamespaceHolder};

/// A namespace kind a pod may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Net,
    Ipc,
    Uts,
    User,
}

impl Kind {
    /// The directory under the pin root holding this kind's pins.
    pub fn dir_name(self) -> &'static str {
        match self {
            Kind::Net => "netns",
            Kind::Ipc => "ipcns",
            Kind::Uts => "utsns",
            Kind::User => "userns",
        }
    }

    fn proc_name(self) -> &'static str {
        match self {
            Kind::Net => "net",
            Kind::Ipc => "ipc",
            Kind::Uts => "uts",
            Kind::User => "user",
        }
    }

    fn clone_flag(self) -> libc::c_int {
        match self {
            Kind::Net => libc::CLONE_NEWNET,
            Kind::Ipc => libc::CLONE_NEWIPC,
            Kind::Uts => libc::CLONE_NEWUTS,
            Kind::User => libc::CLONE_NEWUSER,
        }
    }
}

/// What to create for one pod, and what to set inside.
#[derive(Debug, Clone, Default)]
pub struct PodNamespaces {
    pub kinds: Vec<Kind>,
    /// Set in the new UTS namespace.
    pub hostname: Option<String>,
    /// Namespaced sysctls (already validated), written inside the new namespaces.
    pub sysctls: Vec<(String, String)>,
    /// With `Kind::User`: its UID and GID mappings.
    pub id_mappings: Option<(Vec<IdRange>, Vec<IdRange>)>,
}

/// Creates, pins and removes namespaces: the platform edge, behind a trait so sandbox logic
/// can be tested without root.
pub trait NamespacePinner: Send + Sync {
    /// Where the pin of `kind` for `name` lives.
    fn pin_path(&self, kind: Kind, name: &str) -> PathBuf;
    /// New namespaces of the kinds asked for (`lo` up in a network one), pinned; returns the
    /// pins in the order asked. Nothing is left behind on failure.
    fn create(&self, name: &str, want: &PodNamespaces) -> io::Result<Vec<PathBuf>>;
    /// Unpins and deletes a pin file; a missing one is fine.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Whether `path` still pins a namespace (it does not after a reboot, for instance).
    fn is_pinned(&self, path: &Path) -> bool;
}

/// Removes a pin off the async workers: umount(2) waits on the kernel's mount lock, which
/// every runc on a busy node takes too.
pub async fn unpin(pinner: &Arc<dyn NamespacePinner>, path: &Path) -> io::Result<()> {
    let (pinner, path) = (pinner.clone(), path.to_path_buf());
    crate::sys::blocking::off_workers(move || pinner.remove(&path)).await
}

/// The Linux implementation: pins live under `<root>/{netns,ipcns,utsns}/<name>`.
pub struct LinuxPinner {
    root: PathBuf,
}

impl LinuxPinner {
    pub fn new(root: impl Into<PathBuf>) -> LinuxPinner {
        LinuxPinner { root: root.into() }
    }

    /// Only a network namespace, pinned at `<root>/netns/<name>`.
    pub fn create_netns(&self, name: &str) -> io::Result<PathBuf> {
        let pins =
            self.create(name, &PodNamespaces { kinds: vec![Kind::Net], ..Default::default() })?;
        Ok(pins.into_iter().next().expect("one pin"))
    }
}

/// The /proc/sys file of a sysctl named with dots (or already with slashes, as kubelet allows).
fn sysctl_file(name: &str) -> PathBuf {
    let rel = if name.contains('/') { name.to_string() } else { name.replace('.', "/") };
    Path::new("/proc/sys").join(rel)
}

/// Runs on a dedicated thread: enter new namespaces, set them up, and pin each.
fn unshare_and_pin(want: &PodNamespaces, pins: &[PathBuf]) -> io::Result<()> {
    namespace::unshare(want.kinds.iter().fold(0, |f, k| f | k.clone_flag()))?;
    set_up(want)?;
    for (kind, pin) in want.kinds.iter().zip(pins) {
        crate::sys::mount::bind(&namespace::own_ns_file(kind.proc_name()), pin)?;
    }
    Ok(())
}

/// With a user namespace: a child process makes the namespaces (owned by its user namespace),
/// they are pinned, and a dedicated thread joins the pinned ones to set them up.
fn pin_with_user_namespace(want: &PodNamespaces, pins: &[PathBuf]) -> io::Result<()> {
    let (uids, gids) = want.id_mappings.clone().unwrap_or_default();
    let flags = want.kinds.iter().filter(|k| **k != Kind::User).fold(0, |f, k| f | k.clone_flag());
    let holder = NamespaceHolder::spawn(flags, &uids, &gids)?;
    for (kind, pin) in want.kinds.iter().zip(pins) {
        crate::sys::mount::bind(&holder.ns_file(kind.proc_name()), pin)?;
    }
    drop(holder);
    // The user namespace itself needs no set-up, and a thread may not join one.
    let joined: Vec<(Kind, PathBuf)> = want
        .kinds
        .iter()
        .copied()
        .zip(pins.iter().cloned())
        .filter(|(k, _)| *k != Kind::User)
        .collect();
    let thread_want = want.clone();
    std::thread::Builder::new()
        .name("cricket-ns".into())
        .spawn(move || {
            for (kind, pin) in &joined {
                namespace::enter(pin, kind.clone_flag())?;
            }
            set_up(&thread_want)
        })?
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
}

/// In the calling thread's new namespaces: loopback up, the hostname, the sysctls.
fn set_up(want: &PodNamespaces) -> io::Result<()> {
    if want.kinds.contains(&Kind::Net) {
        namespace::loopback_up()?;
    }
    if let (Some(host), true) = (&want.hostname, want.kinds.contains(&Kind::Uts)) {
        namespace::set_hostname(host)?;
    }
    // /proc/sys answers for the namespaces of the task that opens it: this thread.
    for (name, value) in &want.sysctls {
        std::fs::write(sysctl_file(name), value)
            .map_err(|e| io::Error::new(e.kind(), format!("sysctl {name}={value}: {e}")))?;
    }
    Ok(())
}

impl NamespacePinner for LinuxPinner {
    fn pin_path(&self, kind: Kind, name: &str) -> PathBuf {
        self.root.join(kind.dir_name()).join(name)
    }

    fn create(&self, name: &str, want: &PodNamespaces) -> io::Result<Vec<PathBuf>> {
        if name.is_empty() || name.contains('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad namespace pin name {name:?}"),
            ));
        }
        let mut pins = Vec::new();
        let mut made = Ok(());
        for kind in &want.kinds {
            let pin = self.pin_path(*kind, name);
            made = std::fs::create_dir_all(self.root.join(kind.dir_name())).and_then(|()| {
                std::fs::OpenOptions::new().write(true).create_new(true).open(&pin).map(drop)
            });
            if made.is_err() {
                break;
            }
            pins.push(pin);
        }
        if made.is_ok() && want.kinds.contains(&Kind::User) {
            made = pin_with_user_namespace(want, &pins);
        } else if made.is_ok() {
            let (thread_want, thread_pins) = (want.clone(), pins.clone());
            made = std::thread::Builder::new()
                .name("cricket-ns".into())
                .spawn(move || unshare_and_pin(&thread_want, &thread_pins))?
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")));
        }
        if let Err(e) = made {
            for pin in &pins {
                let _ = self.remove(pin);
            }
            return Err(e);
        }
        Ok(pins)
    }

    fn is_pinned(&self, path: &Path) -> bool {
        crate::sys::mount::is_nsfs(path)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        unmount_if_mounted(path)?;
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
