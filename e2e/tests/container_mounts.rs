//! Host path mounts against real containers: read-write, read-only and recursively read-only,
//! a symlinked host path,
//! a missing one (created), and propagation: private, host-to-container (rslave) and
//! bidirectional (rshared). The host paths live on a tmpfs of the test's own, so that making
//! it shared touches nothing else; it is detached at the end.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

fn c(path: &Path) -> CString {
    CString::new(path.display().to_string()).unwrap()
}

fn mount_tmpfs(at: &Path) {
    let rc = unsafe {
        libc::mount(c"tmpfs".as_ptr(), c(at).as_ptr(), c"tmpfs".as_ptr(), 0, std::ptr::null())
    };
    assert_eq!(rc, 0, "mount tmpfs at {}: {}", at.display(), std::io::Error::last_os_error());
}

/// Detaches the test's tmpfs and everything under it, whatever happens.
struct HostDir(PathBuf);

impl Drop for HostDir {
    fn drop(&mut self) {
        unsafe { libc::umount2(c(&self.0).as_ptr(), libc::MNT_DETACH) };
    }
}

fn mount(container: &str, host: &Path, readonly: bool, propagation: MountPropagation) -> Mount {
    Mount {
        container_path: container.into(),
        host_path: host.display().to_string(),
        readonly,
        propagation: propagation as i32,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_paths_read_only_symlinks_and_propagation() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let root = node.ws.run("host");
    std::fs::create_dir_all(&root).unwrap();
    mount_tmpfs(&root);
    let _detach = HostDir(root.clone());
    let mut config = pod_config(&node, "mounts");
    config
        .linux
        .get_or_insert_with(Default::default)
        .security_context
        .get_or_insert_with(Default::default)
        .privileged = true;
    let mut pod = Pod::start(&node, config).await;
    let image = pod.image.clone();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("from-host"), "host\n").unwrap();
    std::os::unix::fs::symlink(&data, root.join("link")).unwrap();
    use MountPropagation::*;

    let script = "cat /data/from-host; echo c > /data/from-container; echo $?; cat /ro/from-host; touch /ro/x; echo $?; echo l > /link/via-link; touch /new/made";
    let mut app = shell(&image, "app", script);
    app.mounts = vec![
        mount("/data", &data, false, PropagationPrivate),
        mount("/ro", &data, true, PropagationPrivate),
        mount("/link", &root.join("link"), false, PropagationPrivate),
        mount("/new", &root.join("new/sub"), false, PropagationPrivate),
    ];
    // Five lines: host, 0, host, the read-only error (stderr), 1.
    let (s, out) = pod.output_of(&node, app, 5).await;
    assert_eq!(s.exit_code, 0, "{out:?}");
    // stdout in order; the error is on stderr, which the log interleaves anywhere.
    let (errors, stdout): (Vec<&String>, Vec<&String>) =
        out.iter().partition(|l| l.contains("Read-only file system"));
    assert_eq!(stdout, ["host", "0", "host", "1"], "readable, writable, readable, not writable");
    assert_eq!(errors.len(), 1, "read-only: {out:?}");
    assert_eq!(std::fs::read_to_string(data.join("from-container")).unwrap(), "c\n");
    assert_eq!(
        std::fs::read_to_string(data.join("via-link")).unwrap(),
        "l\n",
        "the symlink was followed to its target"
    );
    assert!(root.join("new/sub/made").exists(), "a missing host path is created");

    // Read-only is not recursive unless asked: a submount stays writable under a plain one.
    let layered = root.join("layered");
    std::fs::create_dir_all(layered.join("inner")).unwrap();
    mount_tmpfs(&layered.join("inner"));
    let mut ro =
        shell(&image, "recursive", "touch /plain/inner/x; echo $?; touch /rro/inner/y; echo $?");
    let mut rro = mount("/rro", &layered, true, PropagationPrivate);
    rro.recursive_read_only = true;
    ro.mounts = vec![mount("/plain", &layered, true, PropagationPrivate), rro];
    let (_, out) = pod.output_of(&node, ro, 3).await;
    let codes: Vec<&String> = out.iter().filter(|l| l.len() == 1).collect();
    assert_eq!(codes, ["0", "1"], "plain ro leaves the submount writable, rro does not: {out:?}");
    let mut rw_rro = shell(&image, "bad-rro", "true");
    let mut m = mount("/x", &layered, false, PropagationPrivate);
    m.recursive_read_only = true;
    rw_rro.mounts = vec![m];
    let err = pod.create(rw_rro).await.unwrap_err();
    assert!(err.message().contains("recursive_read_only"), "{err}");

    // mount_options (CRI 1.37): noexec on one bind of a directory, none on another.
    let script = data.join("run.sh");
    std::fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut flags = shell(&image, "flags", "/noexec/run.sh; echo $?; /exec/run.sh");
    let mut noexec = mount("/noexec", &data, false, PropagationPrivate);
    noexec.mount_options = vec!["noexec".into(), "nosuid".into(), "nodev".into()];
    flags.mounts = vec![noexec, mount("/exec", &data, false, PropagationPrivate)];
    let (_, out) = pod.output_of(&node, flags, 3).await;
    let stdout: Vec<&String> = out.iter().filter(|l| !l.contains("denied")).collect();
    assert_eq!(stdout, ["126", "ran"], "noexec refuses to run the script: {out:?}");
    let mut unknown = shell(&image, "bad-flag", "true");
    let mut m = mount("/x", &data, false, PropagationPrivate);
    m.mount_options = vec!["shared".into()];
    unknown.mounts = vec![m];
    let err = pod.create(unknown).await.unwrap_err();
    assert!(err.message().contains("config.mounts[0].mount_options[0]"), "{err}");

    // Propagation: a mount made on the host after the start reaches an rslave mount only.
    for dir in ["prop/sub", "bi/inner"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let watcher = |name: &str, p: MountPropagation| {
        let mut c = shell(&image, name, "sleep 1000");
        c.mounts = vec![mount("/prop", &root.join("prop"), false, p)];
        c
    };
    let slave = watcher("slave", PropagationHostToContainer);
    let private = watcher("private", PropagationPrivate);
    let (slave, private) = (pod.run(slave).await, pod.run(private).await);
    let (slave_pid, private_pid) = (pod.pid(&slave).await, pod.pid(&private).await);
    mount_tmpfs(&root.join("prop/sub"));
    std::fs::write(root.join("prop/sub/late"), "late\n").unwrap();
    let seen = |pid: u32| Path::new(&format!("/proc/{pid}/root/prop/sub/late")).exists();
    assert!(seen(slave_pid), "host-to-container: the host's new mount is seen");
    assert!(!seen(private_pid), "private: it is not");

    // Bidirectional: a mount the (privileged) container makes reaches the host.
    let script = "mount -t tmpfs none /bi/inner && echo up > /bi/inner/flag && sleep 1000";
    let mut bi = shell(&image, "bidirectional", script);
    bi.mounts = vec![mount("/bi", &root.join("bi"), false, PropagationBidirectional)];
    bi.linux = Some(LinuxContainerConfig {
        security_context: Some(LinuxContainerSecurityContext {
            privileged: true,
            ..Default::default()
        }),
        resources: None,
    });
    pod.run(bi).await;
    let flag = root.join("bi/inner/flag");
    let up =
        e2e::eventually(Duration::from_secs(5), || async { std::fs::read_to_string(&flag).ok() })
            .await;
    assert_eq!(
        up.as_deref(),
        Some("up\n"),
        "bidirectional: the container's mount is seen on the host"
    );
    pod.remove().await;
    drop(_detach);
    node.finish();
}
