//! A small, deterministic OCI image writer: single-platform images made of uncompressed tar
//! layers. cricket builds its pause image with it, and the e2e suite its test images. The same
//! input always yields the same digests, so importing twice is a no-op.

use std::collections::HashMap;
use std::io;

use containerd_client::types::Descriptor;
use serde_json::json;

use crate::digest::sha256_digest;

pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Bytes with their digest and media type.
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob { media_type: media_type.to_string(), digest: sha256_digest(&data), data }
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.data.len() as i64,
            annotations: HashMap::new(),
        }
    }
}

/// One entry of a layer's file system.
#[derive(Debug, Clone)]
pub enum Entry {
    Dir {
        path: String,
        mode: u32,
    },
    File {
        path: String,
        mode: u32,
        data: Vec<u8>,
    },
    Symlink {
        path: String,
        target: String,
    },
    /// Another name for the file at `target` (a path in the layer), as busybox images
    /// install their applets: masking one name leaves the others working.
    HardLink {
        path: String,
        target: String,
    },
}

/// The runtime part of an image config (`config` in the OCI image config).
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub working_dir: String,
    pub stop_signal: String,
    pub labels: HashMap<String, String>,
}

/// A layer blob with the digest of its uncompressed content.
#[derive(Debug, Clone)]
pub struct Layer {
    pub blob: Blob,
    pub diff_id: String,
}

/// A whole image: manifest, config and layers, bottom layer first.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub manifest: Blob,
    pub config: Blob,
    pub layers: Vec<Layer>,
}

/// A tar archive of `entries`, owned by root, with fixed timestamps.
pub fn layer_tar(entries: &[Entry]) -> io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match entry {
            Entry::Dir { path, mode } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                header.set_size(0);
                builder.append_data(&mut header, path, io::empty())?;
            }
            Entry::File { path, mode, data } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, path, data.as_slice())?;
            }
            Entry::Symlink { path, target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
            Entry::HardLink { path, target } => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
        }
    }
    builder.into_inner()
}

/// The OCI name of the architecture this binary runs on.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Builds an image from uncompressed layer tars (bottom first) and the runtime config.
pub fn build_image(spec: &ImageSpec, layer_tars: Vec<Vec<u8>>) -> BuiltImage {
    let layers: Vec<Layer> = layer_tars
        .into_iter()
        .map(|tar| {
            let blob = Blob::new(MEDIA_TYPE_LAYER_TAR, tar);
            Layer { diff_id: blob.digest.clone(), blob }
        })
        .collect();
    let config = Blob::new(MEDIA_TYPE_CONFIG, config_json(spec, &layers));
    let manifest = Blob::new(MEDIA_TYPE_MANIFEST, manifest_json(&config, &layers));
    BuiltImage { manifest, config, layers }
}

fn config_json(spec: &ImageSpec, layers: &[Layer]) -> Vec<u8> {
    let mut runtime = serde_json::Map::new();
    let mut put = |key: &str, value: serde_json::Value, present: bool| {
        if present {
            runtime.insert(key.to_string(), value);
        }
    };
    put("Entrypoint", json!(spec.entrypoint), !spec.entrypoint.is_empty());
    put("Cmd", json!(spec.cmd), !spec.cmd.is_empty());
    put("Env", json!(spec.env), !spec.env.is_empty());
    put("User", json!(spec.user), !spec.user.is_empty());
    put("WorkingDir", json!(spec.working_dir), !spec.working_dir.is_empty());
    put("StopSignal", json!(spec.stop_signal), !spec.stop_signal.is_empty());
    let labels: std::collections::BTreeMap<_, _> = spec.labels.iter().collect();
    put("Labels", json!(labels), !labels.is_empty());
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
    let config = json!({
        "architecture": host_architecture(),
        "os": "linux",
        "config": runtime,
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    serde_json::to_vec(&config).expect("a JSON value always serialises")
}

fn manifest_json(config: &Blob, layers: &[Layer]) -> Vec<u8> {
    let describe =
        |b: &Blob| json!({ "mediaType": b.media_type, "digest": b.digest, "size": b.data.len() });
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_MANIFEST,
        "config": describe(config),
        "layers": layers.iter().map(|l| describe(&l.blob)).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&manifest).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BuiltImage {
        let tar = layer_tar(&[
            Entry::Dir { path: "bin".into(), mode: 0o755 },
            Entry::File { path: "bin/x".into(), mode: 0o755, data: b"hello".to_vec() },
            Entry::Symlink { path: "bin/y".into(), target: "x".into() },
        ])
        .unwrap();
        let spec = ImageSpec { entrypoint: vec!["/bin/x".into()], ..Default::default() };
        build_image(&spec, vec![tar])
    }

    #[test]
    fn building_twice_gives_identical_digests() {
        let (a, b) = (sample(), sample());
        assert_eq!(a.manifest.digest, b.manifest.digest);
        assert_eq!(a.config.digest, b.config.digest);
    }

    #[test]
    fn manifest_points_at_config_and_layers_and_config_lists_diff_ids() {
        let image = sample();
        let manifest: serde_json::Value = serde_json::from_slice(&image.manifest.data).unwrap();
        assert_eq!(manifest["config"]["digest"], image.config.digest);
        assert_eq!(manifest["layers"][0]["digest"], image.layers[0].blob.digest);
        assert_eq!(manifest["layers"][0]["size"], image.layers[0].blob.data.len());
        let config: serde_json::Value = serde_json::from_slice(&image.config.data).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], image.layers[0].diff_id);
        assert_eq!(config["config"]["Entrypoint"][0], "/bin/x");
        assert!(config["config"].get("Cmd").is_none());
    }

    #[test]
    fn layer_tar_holds_the_entries_owned_by_root() {
        let image = sample();
        let mut archive = tar::Archive::new(image.layers[0].blob.data.as_slice());
        let names: Vec<(String, u64, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().uid().unwrap(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(names[0], ("bin".to_string(), 0, 0o755));
        assert_eq!(names[1], ("bin/x".to_string(), 0, 0o755));
        assert_eq!(names[2].0, "bin/y");
    }
}
