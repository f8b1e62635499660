//! Test images made here from Debian's busybox-static, with cricket's own OCI writer.

use std::path::Path;

use containerd_bridge::oci_image::{build_image, layer_tar, Blob, BuiltImage, Entry, ImageSpec};

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

fn image_blobs(image: &BuiltImage) -> Vec<&Blob> {
    let mut all = vec![&image.config];
    all.extend(image.layers.iter().map(|l| &l.blob));
    all
}

/// Writes `images` as a containers/image `dir:` layout at `dir` (what skopeo pushes with any
/// media type, digests unchanged): `top` is `manifest.json` (an image manifest, or an index
/// whose instances are stored as `<hex>.manifest.json`), blobs are stored by hex digest.
pub fn write_dir_layout(dir: &Path, images: &[&BuiltImage], top: &Blob) {
    std::fs::create_dir_all(dir).expect("create layout");
    let hex = |b: &Blob| b.digest.trim_start_matches("sha256:").to_string();
    for image in images {
        for blob in image_blobs(image) {
            std::fs::write(dir.join(hex(blob)), &blob.data).expect("write blob");
        }
        if image.manifest.digest != top.digest {
            std::fs::write(dir.join(format!("{}.manifest.json", hex(&image.manifest))), &image.manifest.data).expect("write manifest");
        }
    }
    std::fs::write(dir.join("manifest.json"), &top.data).expect("write manifest.json");
    std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n").expect("write version");
}
