//! Stand-ins for the public images critest pulls, pushed to the node's registry under the
//! repository paths that a `"*"` mirror maps their names to (`registry.k8s.io/pause:3.9` is
//! `<mirror>/pause:3.9`). Each holds what the specs check of it: busybox with all its applets,
//! users and groups, web servers, a setuid program, distinct or shared contents per tag.

use containerd_bridge::oci_image::{build_image, layer_tar, BuiltImage, Entry, ImageSpec};

use crate::go_build::{build_in_module, ModuleTarget};
use crate::registry::Registry;
use crate::test_images::PATH_ENV;

/// The directory of the Go module with critest and the stand-in programs.
pub fn critest_module() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("critest")
}

/// critest (cri-tools' validation suite as one binary), built from the module.
pub fn critest_binary() -> std::path::PathBuf {
    build_in_module(
        &critest_module(),
        ModuleTarget::TestSuite("sigs.k8s.io/cri-tools/cmd/critest"),
        "critest",
        &[],
        &[],
    )
}

/// A CRI client from the module's cri-api release (`cri-client/`): it prints, as JSON, the
/// unary and streaming lists of pods, containers and images and each container's stop signal.
pub fn cri_client_binary() -> std::path::PathBuf {
    let module = critest_module();
    let source = module.join("cri-client").join("main.go");
    build_in_module(&module, ModuleTarget::Program("./cri-client"), "cri-client", &[&source], &[])
}

/// Builds the stand-in programs the images hold.
pub fn build_stand_ins() {
    for name in ["nginx", "nonewprivs"] {
        stand_in(name);
    }
}

/// A stand-in program of the module's `stand-ins/<name>`, built statically.
pub(crate) fn stand_in(name: &str) -> Vec<u8> {
    let module = critest_module();
    let source = module.join("stand-ins").join(name).join("main.go");
    let binary = build_in_module(
        &module,
        ModuleTarget::Program(&format!("./stand-ins/{name}")),
        &format!("stand-in-{name}"),
        &[&source],
        &[],
    );
    std::fs::read(&binary).unwrap_or_else(|e| panic!("{}: {e}", binary.display()))
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
www-data:x:33:33:www-data:/var/www:/bin/false\n\
default-user:x:1000:1000:default-user:/home/default-user:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nwww-data:x:33:\ndefault-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\nnogroup:x:65534:\n";

/// `ipcs -m` as util-linux prints it, enough for the IPC namespace specs (the busybox
/// build here has no ipcs applet).
const IPCS: &str = "#!/bin/sh\n\
echo '------ Shared Memory Segments --------'\n\
echo 'key        shmid      owner      perms      bytes      nattch     status'\n\
tail -n +2 /proc/sysvipc/shm | while read key shmid perms size cpid lpid nattch uid rest; do\n\
  printf '0x%08x %-10s %-10s %-10s %-10s %-10s\\n' \"$key\" \"$shmid\" \"$uid\" \"$perms\" \"$size\" \"$nattch\"\n\
done\n";

/// `pgrep PATTERN`: the pids of the processes whose name matches (no pgrep applet either).
const PGREP: &str = "#!/bin/sh\n\
found=1\n\
for d in /proc/[0-9]*; do\n\
  name=$(cat \"$d/comm\" 2>/dev/null) && echo \"$name\" | grep -q -- \"$1\" && echo \"${d#/proc/}\" && found=0\n\
done\n\
exit $found\n";

/// Where run-all.sh keeps Debian's busybox package.
const SHELL_DEBS: &str = "/var/cache/cricket-e2e";

/// `/bin/sh` as upstream's busybox images have it: a shell that execs the commands it runs,
/// so that a masked applet fails as it does there. Debian's busybox-static runs its applets
/// inside the shell instead; Debian's busybox package (dynamically linked) execs them. Its
/// binary, unpacked, with the host's libraries it is linked against, at their paths.
fn exec_shell() -> Vec<Entry> {
    let deb = std::fs::read_dir(SHELL_DEBS)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("busybox_") && n.ends_with(".deb"))
        })
        .unwrap_or_else(|| panic!("no busybox_*.deb in {SHELL_DEBS}: e2e/run-all.sh downloads it"));
    let unpacked = tempfile::tempdir().expect("a temporary directory");
    let (ok, _, err) = crate::process::run(
        std::process::Command::new("dpkg-deb").arg("-x").arg(&deb).arg(unpacked.path()),
    );
    assert!(ok, "dpkg-deb -x {}: {err}", deb.display());
    program_with_libraries(&unpacked.path().join("bin/busybox"), "bin/sh")
}

/// The program at `host_path` as `image_path`, with the host's libraries it is linked against
/// (as `ldd` finds them), at their paths.
pub(crate) fn program_with_libraries(host_path: &std::path::Path, image_path: &str) -> Vec<Entry> {
    let (ok, linked, err) = crate::process::run(std::process::Command::new("ldd").arg(host_path));
    assert!(ok, "ldd {}: {err}", host_path.display());
    let data = std::fs::read(host_path).unwrap_or_else(|e| panic!("{}: {e}", host_path.display()));
    let mut entries = vec![Entry::File { path: image_path.into(), mode: 0o755, data }];
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
    let libraries: Vec<String> = linked
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')).map(str::to_string))
        .collect();
    let dirs: std::collections::BTreeSet<String> = libraries
        .iter()
        .flat_map(|l| {
            std::path::Path::new(l.trim_start_matches('/'))
                .ancestors()
                .skip(1)
                .map(|a| a.display().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .collect();
    // A set in order puts each directory before the ones inside it.
    entries.extend(dirs.into_iter().map(|path| Entry::Dir { path, mode: 0o755 }));
    for library in libraries {
        let data = std::fs::read(&library).unwrap_or_else(|e| panic!("{library}: {e}"));
        entries.push(Entry::File {
            path: library.trim_start_matches('/').to_string(),
            mode: 0o755,
            data,
        });
    }
    entries
}

/// The bottom layer of every stand-in: busybox and all its applets, the users and groups the
/// specs name, and the usual directories.
pub(crate) fn busybox_layer() -> Vec<u8> {
    let busybox =
        std::fs::read("/bin/busybox").expect("read /bin/busybox (install busybox-static)");
    let (_, list, _) =
        crate::process::run(std::process::Command::new("/bin/busybox").arg("--list"));
    let mut entries = vec![
        Entry::Dir { path: "bin".into(), mode: 0o755 },
        Entry::File { path: "bin/busybox".into(), mode: 0o755, data: busybox },
    ];
    // Hard links, as in busybox images: a masked /bin/ls must not mask the shell.
    entries.extend(
        list.lines()
            .filter(|a| !a.is_empty() && !["busybox", "sh"].contains(a))
            .map(|a| Entry::HardLink { path: format!("bin/{a}"), target: "bin/busybox".into() }),
    );
    entries.extend(exec_shell());
    entries.push(Entry::Dir { path: "usr".into(), mode: 0o755 });
    entries.push(Entry::Dir { path: "usr/bin".into(), mode: 0o755 });
    entries.push(Entry::File {
        path: "usr/bin/ipcs".into(),
        mode: 0o755,
        data: IPCS.as_bytes().to_vec(),
    });
    entries.push(Entry::File {
        path: "usr/bin/pgrep".into(),
        mode: 0o755,
        data: PGREP.as_bytes().to_vec(),
    });
    for dir in ["etc", "root", "home", "var", "var/run", "var/www", "mnt", "proc", "sys", "dev"] {
        entries.push(Entry::Dir { path: dir.into(), mode: 0o755 });
    }
    entries.push(Entry::Dir { path: "tmp".into(), mode: 0o1777 });
    entries.push(Entry::File {
        path: "etc/passwd".into(),
        mode: 0o644,
        data: PASSWD.as_bytes().to_vec(),
    });
    entries.push(Entry::File {
        path: "etc/group".into(),
        mode: 0o644,
        data: GROUP.as_bytes().to_vec(),
    });
    layer_tar(&entries).expect("tar in memory")
}

pub(crate) fn spec(cmd: &[&str], user: &str) -> ImageSpec {
    ImageSpec {
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        env: vec![PATH_ENV.into()],
        user: user.into(),
        ..Default::default()
    }
}

/// An image of the busybox layer and one more layer of `files` (path, mode, content).
pub(crate) fn image(base: &[u8], files: &[(&str, u32, Vec<u8>)], spec: &ImageSpec) -> BuiltImage {
    image_of_entries(base, file_entries(files), spec)
}

/// An image of the busybox layer and one more layer of `entries` (none: no layer).
pub(crate) fn image_of_entries(base: &[u8], entries: Vec<Entry>, spec: &ImageSpec) -> BuiltImage {
    let mut layers = vec![base.to_vec()];
    if !entries.is_empty() {
        layers.push(layer_tar(&entries).expect("tar in memory"));
    }
    build_image(spec, layers)
}

/// Layer entries for `files` (path, mode, content), each preceded by its parent directories.
pub(crate) fn file_entries(files: &[(&str, u32, Vec<u8>)]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (path, mode, data) in files {
        let mut parent = std::path::Path::new(path).parent();
        let mut dirs = Vec::new();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            dirs.push(p.display().to_string());
            parent = p.parent();
        }
        entries.extend(dirs.into_iter().rev().map(|d| Entry::Dir { path: d, mode: 0o755 }));
        entries.push(Entry::File { path: path.to_string(), mode: *mode, data: data.clone() });
    }
    entries
}

/// Builds every stand-in and pushes it to `registry`.
pub fn push_all(registry: &Registry) {
    let base = busybox_layer();
    let web = stand_in("nginx");
    let busybox = image(&base, &[], &spec(&["sh"], ""));
    let e2e = "e2e-test-images";
    let staging = "k8s-staging-cri-tools";
    registry.push(&busybox, &format!("{e2e}/busybox"), "1.29-2");
    let nginx = image(
        &base,
        &[("usr/sbin/nginx", 0o755, web.clone())],
        &spec(&["/usr/sbin/nginx", "-port", "80"], ""),
    );
    registry.push(&nginx, &format!("{e2e}/nginx"), "1.14-2");
    let hostnet = image(
        &base,
        &[("usr/sbin/nginx", 0o755, web.clone())],
        &spec(&["/usr/sbin/nginx", "-port", "12003"], ""),
    );
    registry.push(
        &hostnet,
        &format!("{staging}/hostnet-nginx-{}", containerd_bridge::oci_image::host_architecture()),
        "latest",
    );
    let httpd = image(
        &base,
        &[("usr/local/apache2/bin/httpd", 0o755, web)],
        &spec(&["/usr/local/apache2/bin/httpd", "-port", "80"], ""),
    );
    registry.push(&httpd, &format!("{e2e}/httpd"), "2.4.39-4");
    let nnp = image(
        &base,
        &[("usr/local/bin/nnp", 0o4755, stand_in("nonewprivs"))],
        &spec(&["/usr/local/bin/nnp"], ""),
    );
    registry.push(&nnp, &format!("{e2e}/nonewprivs"), "1.3");

    // Image tests: users, tags, one image under several tags and registries. Every other
    // reference is an image of its own (a file naming it), so that no image carries tags
    // of another test's.
    let named = |name: &str, user: &str| {
        image(
            &base,
            &[("etc/image-name", 0o644, format!("{name}\n").into_bytes())],
            &spec(&["sh"], user),
        )
    };
    for (repo, user) in [
        ("test-image-user-uid", "1002"),
        ("test-image-user-username", "www-data"),
        ("test-image-user-uid-group", "1003:33"),
        ("test-image-user-username-group", "www-data:www-data"),
        ("test-image-predefined-group", "1000"),
    ] {
        registry.push(&named(repo, user), &format!("{staging}/{repo}"), "latest");
    }
    for (repo, tag) in
        [("test-image-latest", "latest"), ("test-image-tag", "test"), ("test-image-tag", "all")]
    {
        registry.push(&named(&format!("{repo}:{tag}"), ""), &format!("{staging}/{repo}"), tag);
    }
    let shared = named("test-image-tags", "");
    for n in 1..=3 {
        registry.push(
            &named(&format!("test-image-{n}"), ""),
            &format!("{staging}/test-image-{n}"),
            "latest",
        );
        registry.push(&shared, &format!("{staging}/test-image-tags"), &n.to_string());
    }
    registry.push(&named("pause", ""), "pause", "3.9");
}
