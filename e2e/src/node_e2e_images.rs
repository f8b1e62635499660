//! Stand-ins for the images Kubernetes' node e2e suite runs, pushed to the node's registry
//! under the repository paths a `"*"` mirror maps their names to
//! (`registry.k8s.io/e2e-test-images/agnhost:2.66.1` is `<mirror>/e2e-test-images/agnhost:2.66.1`).
//!
//! - agnhost: the real program, built from the pinned Kubernetes module's
//!   `test/images/agnhost`, over busybox and Debian's bash, curl and nc (with their
//!   libraries), with the image's user and group, `/agnhost` as the entrypoint and a fake
//!   registry's content (`pause:testing`, for the private-registry specs, which run agnhost's
//!   `fake-registry-server --private`).
//! - busybox, nginx, nonewprivs, nonroot: busybox and the critest stand-in programs (nmeter,
//!   an applet Debian's busybox lacks, among them).
//! - glibc-dns-testing: busybox with Debian's hostname (glibc's resolver).
//! - sample-device-plugin: the real program, built from the same module's
//!   `test/images/sample-device-plugin`, over busybox.
//! - pause: cricket's own pause image.

use containerd_bridge::oci_image::{BuiltImage, Entry, ImageSpec};

use crate::critest_images::{
    busybox_layer, file_entries, image, image_of_entries, program_with_libraries, spec, stand_in,
};
use crate::go_build::{build_in_module, ModuleTarget};
use crate::registry::Registry;
use crate::test_images::PATH_ENV;

const E2E: &str = "e2e-test-images";

/// The agnhost tags the suite's image list names.
const AGNHOST_TAGS: [&str; 2] = ["2.66.1", "2.55"];

const AGNHOST_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const AGNHOST_GROUP: &str = "root:x:0:\nuser-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\nnogroup:x:65534:\n";

/// agnhost, built statically from the module at `e2e/kube` (the Kubernetes release kubelet
/// is built from).
pub fn agnhost_binary() -> std::path::PathBuf {
    let module = crate::kube::module_dir();
    build_in_module(
        &module,
        ModuleTarget::Program("k8s.io/kubernetes/test/images/agnhost"),
        "agnhost",
        &[],
        &[],
    )
}

/// The sample device plugin (it advertises `example.com/resource` devices to kubelet), built
/// statically from the same module as agnhost.
pub fn sample_device_plugin_binary() -> std::path::PathBuf {
    build_in_module(
        &crate::kube::module_dir(),
        ModuleTarget::Program("k8s.io/kubernetes/test/images/sample-device-plugin"),
        "sample-device-plugin",
        &[],
        &[],
    )
}

/// The files of agnhost's fake registry (`/var/registry/<name>/{manifests,blobs}`, blobs and
/// manifests at `sha256/<first two hex>/<hex>/data`, a tag a file holding its digest) serving
/// `image` as `name:tag`.
fn fake_registry_files(image: &BuiltImage, name: &str, tag: &str) -> Vec<(String, u32, Vec<u8>)> {
    let at = |kind: &str, digest: &str| {
        let hex = digest.trim_start_matches("sha256:");
        format!("var/registry/{name}/{kind}/sha256/{}/{hex}/data", &hex[..2])
    };
    let mut files = vec![
        (
            format!("var/registry/{name}/manifests/{tag}"),
            0o644,
            image.manifest.digest.clone().into_bytes(),
        ),
        (at("manifests", &image.manifest.digest), 0o644, image.manifest.data.clone()),
        (at("blobs", &image.config.digest), 0o644, image.config.data.clone()),
    ];
    files.extend(
        image.layers.iter().map(|l| (at("blobs", &l.blob.digest), 0o644, l.blob.data.clone())),
    );
    files
}

/// A self-signed certificate for `localhost` and its key (PEM), made by openssl.
fn localhost_certificate() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (cert, key) = (dir.path().join("localhost.crt"), dir.path().join("localhost.key"));
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=localhost",
        "-keyout",
    ])
    .arg(&key)
    .arg("-out")
    .arg(&cert);
    let (ok, _, err) = crate::process::run(&mut cmd);
    assert!(ok, "openssl req: {err}");
    (std::fs::read(cert).unwrap(), std::fs::read(key).unwrap())
}

fn agnhost_image(base: &[u8]) -> BuiltImage {
    let agnhost = std::fs::read(agnhost_binary()).expect("the agnhost build");
    let mut files: Vec<(String, u32, Vec<u8>)> = vec![
        ("agnhost".into(), 0o755, agnhost),
        ("etc/passwd".into(), 0o644, AGNHOST_PASSWD.as_bytes().to_vec()),
        ("etc/group".into(), 0o644, AGNHOST_GROUP.as_bytes().to_vec()),
        ("uploads/.keep".into(), 0o644, Vec::new()),
        // Upstream's busybox has it; the lifecycle specs time agnhost's containers with it too.
        ("bin/nmeter".into(), 0o755, stand_in("nmeter")),
    ];
    // Specs run scripts with bash, call back over HTTP with curl and over UDP with OpenBSD's
    // nc (busybox's has no -u), as upstream's image (alpine with all three) has them.
    let programs = [
        ("/bin/bash", "bin/bash"),
        ("/usr/bin/curl", "usr/bin/curl"),
        ("/bin/nc.openbsd", "usr/bin/nc"),
    ];
    for (host, in_image) in programs {
        let entries = program_with_libraries(std::path::Path::new(host), in_image);
        files.extend(entries.into_iter().filter_map(|e| match e {
            Entry::File { path, mode, data } => Some((path, mode, data)),
            _ => None,
        }));
    }
    // Its `porter` and `netexec` serve HTTPS with /localhost.crt and /localhost.key.
    let (cert, key) = localhost_certificate();
    files.push(("localhost.crt".into(), 0o644, cert));
    files.push(("localhost.key".into(), 0o644, key));
    files.extend(fake_registry_files(&cricket::pause_image::build(), "pause", "testing"));
    let borrowed: Vec<(&str, u32, Vec<u8>)> =
        files.iter().map(|(p, m, d)| (p.as_str(), *m, d.clone())).collect();
    let mut entries = file_entries(&borrowed);
    // The entrypoint specs override the command with this second name.
    entries.push(Entry::Symlink { path: "agnhost-2".into(), target: "agnhost".into() });
    let config = ImageSpec {
        entrypoint: vec!["/agnhost".into()],
        cmd: vec!["pause".into()],
        env: vec![PATH_ENV.into()],
        ..Default::default()
    };
    image_of_entries(base, entries, &config)
}

/// The hostname specs print `hostname -f`, the name glibc's resolver finds for the pod's
/// hostname in the `/etc/hosts` kubelet writes: Debian's hostname over busybox.
fn glibc_dns_image(base: &[u8]) -> BuiltImage {
    let mut entries = program_with_libraries(std::path::Path::new("/bin/hostname"), "bin/hostname");
    entries.extend(file_entries(&[("etc/nsswitch.conf", 0o644, b"hosts: files dns\n".to_vec())]));
    image_of_entries(base, entries, &spec(&["sh"], ""))
}

/// Builds every stand-in and pushes it to `registry`.
pub fn push_all(registry: &Registry) {
    let base = busybox_layer();
    let agnhost = agnhost_image(&base);
    for tag in AGNHOST_TAGS {
        registry.push(&agnhost, &format!("{E2E}/agnhost"), tag);
    }
    // The lifecycle specs time their containers with busybox's nmeter, which Debian's lacks.
    let nmeter = [("bin/nmeter", 0o755, stand_in("nmeter"))];
    registry.push(
        &image(&base, &nmeter, &spec(&["sh"], "")),
        &format!("{E2E}/busybox"),
        "1.37.0-2",
    );
    let web = stand_in("nginx");
    for tag in ["1.27.0-2", "1.28.0-2"] {
        // One image per tag: the image-update specs need the two to differ.
        let files = [
            ("usr/sbin/nginx", 0o755, web.clone()),
            ("etc/image-name", 0o644, format!("nginx:{tag}\n").into_bytes()),
        ];
        registry.push(
            &image(&base, &files, &spec(&["/usr/sbin/nginx", "-port", "80"], "")),
            &format!("{E2E}/nginx"),
            tag,
        );
    }
    let nnp =
        image(&base, &[("usr/local/bin/nnp", 0o4755, stand_in("nonewprivs"))], &spec(&["nnp"], ""));
    registry.push(&nnp, &format!("{E2E}/nonewprivs"), "1.4");
    registry.push(&image(&base, &[], &spec(&["sh"], "1234")), &format!("{E2E}/nonroot"), "1.5");
    registry.push(&glibc_dns_image(&base), &format!("{E2E}/glibc-dns-testing"), "2.1.1");
    let plugin =
        std::fs::read(sample_device_plugin_binary()).expect("the sample device plugin build");
    registry.push(
        &image(
            &base,
            &[("sampledeviceplugin", 0o755, plugin)],
            &ImageSpec {
                entrypoint: vec!["/sampledeviceplugin".into(), "-alsologtostderr".into()],
                env: vec![PATH_ENV.into()],
                ..Default::default()
            },
        ),
        &format!("{E2E}/sample-device-plugin"),
        "1.8.0",
    );
    registry.push(&cricket::pause_image::build(), "pause", "3.10.2");
}
