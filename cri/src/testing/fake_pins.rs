//! Namespace pins as plain files: a pin "pins" while its file exists and was not lost.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::Journal;
use crate::adapters::namespace_pins::{Kind, NamespacePinner, PodNamespaces};
use crate::locks::MutexExt;

pub struct FakePins {
    journal: Journal,
    root: PathBuf,
    /// Pins whose namespace is gone though the file stays (after a reboot).
    lost: Mutex<HashSet<PathBuf>>,
    fail_remove: Mutex<bool>,
}

impl FakePins {
    pub fn new(journal: Journal, root: PathBuf) -> FakePins {
        FakePins { journal, root, lost: Default::default(), fail_remove: Default::default() }
    }

    /// Every pin file that exists, relative to the pin root (`netns/<id>`).
    pub fn files(&self) -> Vec<String> {
        let mut files = Vec::new();
        for kind in [Kind::Net, Kind::Ipc, Kind::Uts] {
            for entry in std::fs::read_dir(self.root.join(kind.dir_name())).into_iter().flatten() {
                let name = entry.expect("a dir entry").file_name();
                files.push(format!("{}/{}", kind.dir_name(), name.to_string_lossy()));
            }
        }
        files.sort();
        files
    }

    /// The namespace behind `path` is gone; its file stays.
    pub fn lose(&self, path: &Path) {
        self.lost.locked().insert(path.to_path_buf());
    }

    pub fn fail_removes(&self, fail: bool) {
        *self.fail_remove.locked() = fail;
    }
}

impl NamespacePinner for FakePins {
    fn pin_path(&self, kind: Kind, name: &str) -> PathBuf {
        self.root.join(kind.dir_name()).join(name)
    }

    fn create(&self, name: &str, want: &PodNamespaces) -> io::Result<Vec<PathBuf>> {
        self.journal.push(format!("pins create {name}"));
        let mut pins = Vec::new();
        for kind in &want.kinds {
            let pin = self.pin_path(*kind, name);
            std::fs::create_dir_all(pin.parent().expect("a parent"))?;
            std::fs::write(&pin, b"")?;
            pins.push(pin);
        }
        Ok(pins)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let kind = path.parent().and_then(Path::file_name).unwrap_or_default().to_string_lossy();
        self.journal.push(format!("pins remove {kind}/{name}"));
        if *self.fail_remove.locked() {
            return Err(io::Error::other("injected: device or resource busy"));
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn is_pinned(&self, path: &Path) -> bool {
        path.exists() && !self.lost.locked().contains(path)
    }
}
