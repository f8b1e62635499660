//! Test images made here from Debian's busybox-static, with cricket's own OCI writer.

use std::path::Path;

use containerd_bridge::oci_image::{build_image, layer_tar, Blob, BuiltImage, Entry, ImageSpec};

/// Applets linked into the test image's /bin.
const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "ls", "sleep", "true", "false", "id", "hostname", "env", "ps", "mkdir",
    "touch", "head", "tail", "grep", "wc", "nc", "wget", "kill", "mount", "stat", "readlink",
    "yes", "dd", "top", "umount", "unshare", "pwd", "rm", "stty", "httpd", "tar", "date", "tr",
    "seq", "tty",
];

pub const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";

/// A one-layer busybox image: /bin/busybox, its applets, /etc/passwd and /tmp.
pub fn busybox_image() -> BuiltImage {
    let spec =
        ImageSpec { cmd: vec!["/bin/sh".into()], env: vec![PATH_ENV.into()], ..Default::default() };
    busybox_with(&spec, PASSWD, GROUP)
}

/// busybox whose image config sets `StopSignal`.
pub fn busybox_with_stop_signal(signal: &str) -> BuiltImage {
    let spec = ImageSpec {
        cmd: vec!["/bin/sh".into()],
        env: vec![PATH_ENV.into()],
        stop_signal: signal.into(),
        ..Default::default()
    };
    busybox_with(&spec, PASSWD, GROUP)
}

/// busybox with an image config that sets everything a container inherits: entrypoint and
/// cmd (a script printing where and who it is), env, working dir /work, and user `app`
/// (1001:1001, also in group `extra` 2000).
pub fn app_image() -> BuiltImage {
    let spec = ImageSpec {
        entrypoint: vec!["/bin/sh".into(), "-c".into()],
        cmd: vec!["echo image-cmd; pwd; id; env".into()],
        env: vec![PATH_ENV.into(), "FROM_IMAGE=1".into(), "OVERRIDE=image".into()],
        user: "app".into(),
        working_dir: "/work".into(),
        ..Default::default()
    };
    let passwd = format!("{PASSWD}app:x:1001:1001:app:/home/app:/bin/sh\n");
    let group = format!("{GROUP}app:x:1001:\nextra:x:2000:app\n");
    busybox_with(&spec, &passwd, &group)
}

fn busybox_with(spec: &ImageSpec, passwd: &str, group: &str) -> BuiltImage {
    let busybox =
        std::fs::read("/bin/busybox").expect("read /bin/busybox (install busybox-static)");
    let mut entries = vec![
        Entry::Dir { path: "bin".into(), mode: 0o755 },
        Entry::File { path: "bin/busybox".into(), mode: 0o755, data: busybox },
        Entry::Dir { path: "etc".into(), mode: 0o755 },
        Entry::File { path: "etc/passwd".into(), mode: 0o644, data: passwd.as_bytes().to_vec() },
        Entry::File { path: "etc/group".into(), mode: 0o644, data: group.as_bytes().to_vec() },
        Entry::Dir { path: "tmp".into(), mode: 0o1777 },
        Entry::Dir { path: "mnt".into(), mode: 0o755 },
    ];
    entries.extend(
        APPLETS
            .iter()
            .map(|a| Entry::Symlink { path: format!("bin/{a}"), target: "busybox".into() }),
    );
    let tar = layer_tar(&entries).expect("tar in memory");
    build_image(spec, vec![tar])
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
            std::fs::write(
                dir.join(format!("{}.manifest.json", hex(&image.manifest))),
                &image.manifest.data,
            )
            .expect("write manifest");
        }
    }
    std::fs::write(dir.join("manifest.json"), &top.data).expect("write manifest.json");
    std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n")
        .expect("write version");
}
