//! The checkpoint archive that kubelet's checkpoint API hands out and checkpointctl reads: a
//! tar holding CRIU's images under `checkpoint/`, the container's writable layer as
//! `rootfs-diff.tar`, its OCI spec (`spec.dump`), what it was (`config.dump`) and its CRI
//! status (`status.dump`). Blocking file work; callers run it off the async workers.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const CRIU_IMAGES: &str = "checkpoint";
pub const ROOTFS_DIFF: &str = "rootfs-diff.tar";
pub const SPEC_DUMP: &str = "spec.dump";
pub const CONFIG_DUMP: &str = "config.dump";
pub const STATUS_DUMP: &str = "status.dump";
/// CRIU's log of the dump.
pub const DUMP_LOG: &str = "dump.log";

/// `config.dump`: the container the checkpoint was taken of, in checkpointctl's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointedContainer {
    pub id: String,
    pub name: String,
    /// The image as the container named it, its ID, and a name it is known by.
    #[serde(default)]
    pub rootfs_image: String,
    #[serde(default)]
    pub rootfs_image_ref: String,
    #[serde(default)]
    pub rootfs_image_name: String,
    #[serde(rename = "runtime", default)]
    pub runtime: String,
    /// RFC 3339 times.
    pub created_time: String,
    pub checkpointed_at: String,
}

/// Packs the files of `dir` (not `dir` itself) into a tar at `location`, written beside it
/// and renamed into place, so that a failure leaves no partial archive there.
pub fn pack(dir: &Path, location: &Path) -> io::Result<()> {
    let partial = partial_path(location);
    let written = (|| {
        let mut file = File::create(&partial)?;
        let mut tar = tar::Builder::new(BufWriter::new(&mut file));
        tar.follow_symlinks(false);
        tar.append_dir_all(".", dir)?;
        tar.into_inner()?.flush()?;
        file.sync_all()
    })();
    match written.and_then(|()| std::fs::rename(&partial, location)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn partial_path(location: &Path) -> PathBuf {
    let mut name = location.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    location.with_file_name(name)
}

/// `config.dump` of an archive, read without unpacking the rest.
pub fn read_config(archive: &Path) -> io::Result<CheckpointedContainer> {
    let mut tar = tar::Archive::new(BufReader::new(File::open(archive)?));
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.path()?.components().eq(Path::new(CONFIG_DUMP).components()) {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            return serde_json::from_str(&text).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{CONFIG_DUMP}: {e}"))
            });
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, format!("no {CONFIG_DUMP} in it")))
}

/// Unpacks an archive into `dir`; entries that would land outside it are refused by the tar
/// reader.
pub fn unpack(archive: &Path, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tar = tar::Archive::new(BufReader::new(File::open(archive)?));
    tar.set_preserve_permissions(true);
    tar.unpack(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CheckpointedContainer {
        CheckpointedContainer {
            id: "c1".into(),
            name: "counter".into(),
            rootfs_image: "busybox:latest".into(),
            rootfs_image_ref: "sha256:abc".into(),
            rootfs_image_name: "docker.io/library/busybox:latest".into(),
            runtime: "io.containerd.runc.v2".into(),
            created_time: "2026-12-03T10:00:00Z".into(),
            checkpointed_at: "2026-12-03T10:01:00Z".into(),
        }
    }

    #[test]
    fn an_archive_round_trips_and_its_config_reads_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("in");
        std::fs::create_dir_all(dir.join(CRIU_IMAGES)).unwrap();
        std::fs::write(dir.join(CRIU_IMAGES).join("pages-1.img"), b"pages").unwrap();
        std::fs::write(dir.join(CONFIG_DUMP), serde_json::to_vec(&config()).unwrap()).unwrap();
        let archive = tmp.path().join("out.tar");
        pack(&dir, &archive).unwrap();
        assert!(!partial_path(&archive).exists());
        assert_eq!(read_config(&archive).unwrap(), config());
        let back = tmp.path().join("back");
        unpack(&archive, &back).unwrap();
        assert_eq!(std::fs::read(back.join(CRIU_IMAGES).join("pages-1.img")).unwrap(), b"pages");
    }

    #[test]
    fn checkpointctl_field_names() {
        let json = serde_json::to_value(config()).unwrap();
        for field in ["rootfsImageRef", "rootfsImageName", "runtime", "checkpointedAt"] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
    }

    #[test]
    fn an_archive_without_config_is_named_so() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("in");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(SPEC_DUMP), b"{}").unwrap();
        let archive = tmp.path().join("out.tar");
        pack(&dir, &archive).unwrap();
        let err = read_config(&archive).unwrap_err();
        assert!(err.to_string().contains(CONFIG_DUMP), "{err}");
        // A failed pack leaves nothing at the location.
        let missing = tmp.path().join("nope");
        assert!(pack(&missing, &tmp.path().join("x.tar")).is_err());
        assert!(!tmp.path().join("x.tar").exists());
        assert!(!tmp.path().join("x.tar.partial").exists());
    }
}
