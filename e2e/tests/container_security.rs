//! A container's security context against real containers: read-only rootfs, privileged or
//! not (mount, devices, masked paths), requested devices with permissions, capabilities add/drop/ALL, masked and read-only paths
//! (defaults and kubelet's own lists), and seccomp RuntimeDefault, Unconfined and Localhost.

use cricket::api::v1::security_profile::ProfileType;
use cricket::api::v1::*;
use e2e::workload::{pod_config, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

fn container(
    image: &str,
    name: &str,
    script: &str,
    f: impl FnOnce(&mut LinuxContainerSecurityContext),
) -> ContainerConfig {
    let mut sc = LinuxContainerSecurityContext::default();
    f(&mut sc);
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into(), ..Default::default() }),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        log_path: format!("{name}/0.log"),
        linux: Some(LinuxContainerConfig { security_context: Some(sc), resources: None }),
        ..Default::default()
    }
}

fn caps(add: &[&str], drop: &[&str]) -> Option<Capability> {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Some(Capability {
        add_capabilities: v(add),
        drop_capabilities: v(drop),
        add_ambient_capabilities: vec![],
    })
}

fn profile(t: ProfileType, localhost_ref: &str) -> Option<SecurityProfile> {
    Some(SecurityProfile { profile_type: t as i32, localhost_ref: localhost_ref.into() })
}

async fn privileged_pod(node: &Node) -> Pod {
    let mut config = pod_config(node, "secure");
    let linux = config.linux.get_or_insert_with(Default::default);
    linux.security_context.get_or_insert_with(Default::default).privileged = true;
    Pod::start(node, config).await
}

/// Runs `c`; its exit code and output.
async fn run(pod: &mut Pod, node: &Node, c: ContainerConfig, lines: usize) -> (i32, Vec<String>) {
    let (s, out) = pod.output_of(node, c, lines).await;
    (s.exit_code, out)
}

const CAP_EFF: &str = "grep CapEff /proc/self/status";

fn cap_eff(out: &[String]) -> u64 {
    let hex =
        out.iter().find_map(|l| l.strip_prefix("CapEff:")).unwrap_or_else(|| panic!("{out:?}"));
    u64::from_str_radix(hex.trim(), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rootfs_privilege_capabilities_and_paths() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = privileged_pod(&node).await;
    let image = pod.image.clone();
    let img = image.as_str();

    assert_eq!(run(&mut pod, &node, container(img, "rw", "touch /x", |_| {}), 0).await.0, 0);
    assert_ne!(
        run(&mut pod, &node, container(img, "ro", "touch /x", |s| s.readonly_rootfs = true), 0)
            .await
            .0,
        0,
        "read-only rootfs"
    );

    let mount = "mount -t tmpfs none /mnt";
    assert_ne!(
        run(&mut pod, &node, container(img, "mount", mount, |_| {}), 0).await.0,
        0,
        "no mount without privilege"
    );
    assert_eq!(
        run(&mut pod, &node, container(img, "mount-priv", mount, |s| s.privileged = true), 0)
            .await
            .0,
        0
    );
    let devices = "ls /dev | wc -l";
    let plain: usize = run(&mut pod, &node, container(img, "dev", devices, |_| {}), 1).await.1[0]
        .trim()
        .parse()
        .unwrap();
    let all: usize =
        run(&mut pod, &node, container(img, "dev-priv", devices, |s| s.privileged = true), 1)
            .await
            .1[0]
            .trim()
            .parse()
            .unwrap();
    assert!(all > plain + 5, "a privileged container sees the host's devices: {all} vs {plain}");

    // A requested device, with its cgroup permissions. The node is made here, with the
    // numbers of /dev/fuse, which runc does not allow by default: opening it for reading is
    // refused by the device cgroup (EPERM) unless `r` is granted (then it opens, or, without
    // the fuse driver, fails otherwise).
    let node_path = node.ws.run("mydev");
    let c_path = std::ffi::CString::new(node_path.display().to_string()).unwrap();
    assert_eq!(
        unsafe { libc::mknod(c_path.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(10, 229)) },
        0
    );
    let device = |perms: &str| {
        vec![Device {
            container_path: "/dev/mydev".into(),
            host_path: node_path.display().to_string(),
            permissions: perms.into(),
        }]
    };
    let open = "exec 3< /dev/mydev 2>&1 && echo opened";
    let mut c = container(img, "device-r", open, |_| {});
    c.devices = device("r");
    let (_, out) = run(&mut pod, &node, c, 1).await;
    assert!(!out.join(" ").contains("not permitted"), "readable with r: {out:?}");
    let mut c = container(img, "device-w", open, |_| {});
    c.devices = device("w");
    let (_, out) = run(&mut pod, &node, c, 1).await;
    assert!(out.join(" ").contains("Operation not permitted"), "not readable with w only: {out:?}");
    let mut c = container(img, "device-bad", open, |_| {});
    c.devices = device("rwx");
    let err = pod.create(c).await.unwrap_err();
    assert!(
        err.code() == Code::InvalidArgument
            && err.message().contains("config.devices[0].permissions"),
        "{err}"
    );

    let default =
        cap_eff(&run(&mut pod, &node, container(img, "caps", CAP_EFF, |_| {}), 1).await.1);
    assert_eq!(default, 0xa80425fb, "the default set (containerd's): {default:#x}");
    let added = cap_eff(
        &run(
            &mut pod,
            &node,
            container(img, "caps-add", CAP_EFF, |s| {
                s.capabilities = caps(&["NET_ADMIN"], &["CHOWN"])
            }),
            1,
        )
        .await
        .1,
    );
    assert_eq!(added, (default | 1 << 12) & !1, "NET_ADMIN added, CHOWN dropped");
    let none = cap_eff(
        &run(
            &mut pod,
            &node,
            container(img, "caps-none", CAP_EFF, |s| s.capabilities = caps(&[], &["ALL"])),
            1,
        )
        .await
        .1,
    );
    assert_eq!(none, 0);
    let one = cap_eff(
        &run(
            &mut pod,
            &node,
            container(img, "caps-one", CAP_EFF, |s| {
                s.capabilities = caps(&["CAP_NET_BIND_SERVICE"], &["ALL"])
            }),
            1,
        )
        .await
        .1,
    );
    assert_eq!(one, 1 << 10, "drop ALL, then add one");
    let every = cap_eff(
        &run(
            &mut pod,
            &node,
            container(img, "caps-all", CAP_EFF, |s| s.capabilities = caps(&["ALL"], &[])),
            1,
        )
        .await
        .1,
    );
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let own = u64::from_str_radix(
        own.lines().find_map(|l| l.strip_prefix("CapBnd:")).unwrap().trim(),
        16,
    )
    .unwrap();
    assert_eq!(every, own, "add ALL: every capability this node's root holds");

    // Masked paths read as empty, /proc/sys is read-only; privileged lifts both.
    let paths = "echo $(wc -c < /proc/timer_list) $(wc -c < /proc/version); grep -c ' /proc/sys proc ro,' /proc/mounts";
    let (_, out) = run(&mut pod, &node, container(img, "paths", paths, |_| {}), 2).await;
    let words: Vec<&str> = out[0].split(' ').collect();
    assert_eq!((words[0], out[1].as_str()), ("0", "1"), "{out:?}");
    assert_ne!(words[1], "0");
    let (_, out) =
        run(&mut pod, &node, container(img, "paths-priv", paths, |s| s.privileged = true), 2).await;
    assert_ne!(out[0].split(' ').next(), Some("0"), "privileged: nothing masked: {out:?}");
    assert_eq!(out[1], "0", "privileged: /proc/sys writable");
    // kubelet's own lists replace the defaults.
    let (_, out) = run(
        &mut pod,
        &node,
        container(img, "paths-own", paths, |s| {
            s.masked_paths = vec!["/proc/version".into()];
            s.readonly_paths = vec!["/proc/sys".into()];
        }),
        2,
    )
    .await;
    let words: Vec<&str> = out[0].split(' ').collect();
    assert!(words[0] != "0" && words[1] == "0", "{out:?}");
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seccomp_runtime_default_unconfined_and_localhost() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "filtered")).await;
    let image = pod.image.clone();
    let img = image.as_str();

    // A user namespace needs no capability, only the unshare syscall the default profile denies.
    let userns = "unshare -U true";
    let (code, _) = run(
        &mut pod,
        &node,
        container(img, "default", userns, |s| s.seccomp = profile(ProfileType::RuntimeDefault, "")),
        0,
    )
    .await;
    assert_ne!(code, 0, "RuntimeDefault denies unshare");
    let (code, _) = run(
        &mut pod,
        &node,
        container(img, "unconfined", userns, |s| s.seccomp = profile(ProfileType::Unconfined, "")),
        0,
    )
    .await;
    assert_eq!(code, 0, "Unconfined allows it");

    let file = node.ws.run("no-mkdir.json");
    let deny = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }]
    });
    std::fs::write(&file, deny.to_string()).unwrap();
    let local = profile(ProfileType::Localhost, &file.display().to_string());
    let (code, _) = run(
        &mut pod,
        &node,
        container(img, "local", "mkdir /tmp/d", |s| s.seccomp = local.clone()),
        0,
    )
    .await;
    assert_ne!(code, 0, "the Localhost profile denies mkdir");
    let (code, _) = run(
        &mut pod,
        &node,
        container(img, "local-touch", "touch /tmp/f", |s| s.seccomp = local),
        0,
    )
    .await;
    assert_eq!(code, 0, "and allows the rest");

    let missing = profile(ProfileType::Localhost, "/nonexistent/profile.json");
    let err =
        pod.create(container(img, "missing", "true", |s| s.seccomp = missing)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("seccomp.localhost_ref"), "{err}");
    // This node has no AppArmor: a Localhost profile is refused, not silently dropped.
    if std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .map_or(true, |v| v.trim() != "Y")
    {
        let profile = profile(ProfileType::Localhost, "k8s-nginx");
        let err = pod
            .create(container(img, "armored", "true", |s| s.apparmor = profile))
            .await
            .unwrap_err();
        assert!(err.code() == Code::InvalidArgument && err.message().contains("apparmor"), "{err}");
    }
    let err =
        pod.create(container(img, "priv", "true", |s| s.privileged = true)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "a privileged container needs a privileged pod");
    assert!(err.message().contains("privileged"), "{err}");
    pod.remove().await;
    node.finish();
}
