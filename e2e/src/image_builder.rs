//! Test images of every shape the puller must handle: OCI or Docker media types, layers
//! uncompressed, gzip or zstd, any architecture, several layers, and multi-platform indexes.

use std::io::Write;

use containerd_bridge::oci_image::{layer_tar, Blob, BuiltImage, Entry, Layer};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flavour {
    Oci,
    Docker,
}

#[derive(Debug, Clone)]
pub struct ImageOptions {
    pub compression: Compression,
    pub flavour: Flavour,
    pub architecture: String,
    pub user: String,
    pub cmd: Vec<String>,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            compression: Compression::None,
            flavour: Flavour::Oci,
            architecture: containerd_bridge::oci_image::host_architecture().into(),
            user: String::new(),
            cmd: vec!["/bin/sh".into()],
        }
    }
}

fn layer_media_type(o: &ImageOptions) -> &'static str {
    match (o.flavour, o.compression) {
        (Flavour::Oci, Compression::None) => "application/vnd.oci.image.layer.v1.tar",
        (Flavour::Oci, Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
        (Flavour::Oci, Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
        (Flavour::Docker, Compression::None) => "application/vnd.docker.image.rootfs.diff.tar",
        (Flavour::Docker, _) => "application/vnd.docker.image.rootfs.diff.tar.gzip",
    }
}

fn compress(tar: &[u8], o: &ImageOptions) -> Vec<u8> {
    match o.compression {
        Compression::None => tar.to_vec(),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(tar).unwrap();
            enc.finish().unwrap()
        }
        Compression::Zstd if o.flavour == Flavour::Docker => {
            compress(tar, &ImageOptions { compression: Compression::Gzip, ..o.clone() })
        }
        Compression::Zstd => zstd::encode_all(tar, 1).unwrap(),
    }
}

/// An image from layer tars (bottom first).
pub fn build(tars: &[Vec<u8>], o: &ImageOptions) -> BuiltImage {
    let layers: Vec<Layer> = tars
        .iter()
        .map(|tar| Layer {
            blob: Blob::new(layer_media_type(o), compress(tar, o)),
            diff_id: containerd_bridge::sha256_digest(tar),
        })
        .collect();
    let (manifest_type, config_type) = match o.flavour {
        Flavour::Oci => (
            containerd_bridge::oci_image::MEDIA_TYPE_MANIFEST,
            containerd_bridge::oci_image::MEDIA_TYPE_CONFIG,
        ),
        Flavour::Docker => (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
        ),
    };
    let mut runtime = json!({ "Cmd": o.cmd, "Env": [crate::test_images::PATH_ENV] });
    if !o.user.is_empty() {
        runtime["User"] = json!(o.user);
    }
    let config = json!({
        "architecture": o.architecture,
        "os": "linux",
        "config": runtime,
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>() },
    });
    let config = Blob::new(config_type, serde_json::to_vec(&config).unwrap());
    let describe =
        |b: &Blob| json!({ "mediaType": b.media_type, "digest": b.digest, "size": b.data.len() });
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": describe(&config),
        "layers": layers.iter().map(|l| describe(&l.blob)).collect::<Vec<_>>(),
    });
    let manifest = Blob::new(manifest_type, serde_json::to_vec(&manifest).unwrap());
    BuiltImage { manifest, config, layers }
}

/// An index (or Docker manifest list) over `images`, each for its config's architecture.
pub fn index(images: &[(&BuiltImage, &str)], flavour: Flavour) -> Blob {
    let media_type = match flavour {
        Flavour::Oci => "application/vnd.oci.image.index.v1+json",
        Flavour::Docker => "application/vnd.docker.distribution.manifest.list.v2+json",
    };
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|(image, arch)| {
            json!({
                "mediaType": image.manifest.media_type,
                "digest": image.manifest.digest,
                "size": image.manifest.data.len(),
                "platform": { "architecture": arch, "os": "linux" },
            })
        })
        .collect();
    let doc = json!({ "schemaVersion": 2, "mediaType": media_type, "manifests": manifests });
    Blob::new(media_type, serde_json::to_vec(&doc).unwrap())
}

/// A layer of `files` files of `size` pseudo-random (incompressible) bytes each, seeded so
/// that different seeds give different layers.
pub fn random_layer(seed: u64, files: usize, size: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut entries = vec![Entry::Dir { path: format!("data{seed}"), mode: 0o755 }];
    for f in 0..files {
        let mut data = Vec::with_capacity(size);
        while data.len() < size {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data.extend_from_slice(&state.to_le_bytes());
        }
        data.truncate(size);
        entries.push(Entry::File { path: format!("data{seed}/f{f}"), mode: 0o644, data });
    }
    layer_tar(&entries).unwrap()
}

/// The busybox layer of the standard test image.
pub fn busybox_layer() -> Vec<u8> {
    let image = crate::test_images::busybox_image();
    image.layers[0].blob.data.clone()
}
