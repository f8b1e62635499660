//! Test images made here from Debian's busybox-static, with cricket's own OCI writer.

use std::path::Path;

use containerd_bridge::oci_image::{build_image, layer_tar, BuiltImage, Entry, ImageSpec};
use serde_json::json;

/// Applets linked into the test image's /bin.
const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "ls", "sleep", "true", "false", "id", "hostname", "env", "ps", "mkdir", "touch",
    "head", "tail", "grep", "wc", "nc", "wget", "kill", "mount", "stat", "readlink", "yes", "dd", "top",
];

pub const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A one-layer busybox image: /bin/busybox, its applets, /etc/passwd and /tmp.
pub fn busybox_image() -> BuiltImage {
    let busybox = std::fs::read("/bin/busybox").expect("read /bin/busybox (install busybox-static)");
    let mut entries = vec![
        Entry::Dir { path: "bin".into(), mode: 0o755 },
        Entry::File { path: "bin/busybox".into(), mode: 0o755, data: busybox },
        Entry::Dir { path: "etc".into(), mode: 0o755 },
        Entry::File {
            path: "etc/passwd".into(),
            mode: 0o644,
            data: b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n".to_vec(),
        },
        Entry::File { path: "etc/group".into(), mode: 0o644, data: b"root:x:0:\nnogroup:x:65534:\n".to_vec() },
        Entry::Dir { path: "tmp".into(), mode: 0o1777 },
    ];
    entries.extend(APPLETS.iter().map(|a| Entry::Symlink { path: format!("bin/{a}"), target: "busybox".into() }));
    let tar = layer_tar(&entries).expect("tar in memory");
    let spec = ImageSpec { cmd: vec!["/bin/sh".into()], env: vec![PATH_ENV.into()], ..Default::default() };
    build_image(&spec, vec![tar])
}

/// Writes `image` as an OCI image layout at `dir`, tagged `tag`.
pub fn write_oci_layout(dir: &Path, image: &BuiltImage, tag: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("create layout");
    let mut all = vec![&image.manifest, &image.config];
    all.extend(image.layers.iter().map(|l| &l.blob));
    for blob in all {
        let hex = blob.digest.trim_start_matches("sha256:");
        std::fs::write(blobs.join(hex), &blob.data).expect("write blob");
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("write oci-layout");
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": image.manifest.media_type,
            "digest": image.manifest.digest,
            "size": image.manifest.data.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).expect("write index.json");
}
