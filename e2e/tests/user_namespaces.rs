//! Pods with their own user namespace (`hostUsers: false`): on containerd 2.x the container's
//! root is an unprivileged ID of the node, its rootfs is the image shifted by an idmapped
//! mount, a root-owned host path bound read-write stays out of its reach, what it writes to a
//! plain directory belongs to its mapped ID on the node, and an idmapped volume shows the
//! node's root as its own. On containerd 1.6 the pod is refused, naming what is missing, and
//! Status says so on each backend. A handler other than the runc on PATH refuses such a pod.

use std::os::unix::fs::MetadataExt;

use cricket::api::v1::*;
use e2e::backend::Backend;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

const LENGTH: u32 = 65536;

/// A host range of 65536 IDs of this test process's own, as kubelet would allot one per pod.
fn host_base() -> u32 {
    LENGTH * (200 + std::process::id() % 1000)
}

fn userns_pod(node: &Node, name: &str, base: u32) -> PodSandboxConfig {
    let mut config = pod_config(node, name);
    let map = IdMapping { host_id: base, container_id: 0, length: LENGTH };
    let ns = config.linux.as_mut().unwrap().security_context.as_mut().unwrap();
    ns.namespace_options.as_mut().unwrap().userns_options =
        Some(UserNamespace { mode: NamespaceMode::Pod as i32, uids: vec![map], gids: vec![map] });
    config
}

const PROBE: &str = "set -- $(cat /proc/self/uid_map); echo uid_map=$1:$2:$3; echo id=$(id -u); \
                     echo rootfs-owner=$(stat -c %u /bin); \
                     (echo x > /host-root/f) 2>/dev/null && echo host-root=written || echo host-root=denied; \
                     echo y > /scratch/made && echo scratch=written; \
                     echo vol-owner=$(stat -c %u /vol/file); echo z > /vol/new && echo vol=written";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_gets_its_own_user_namespace_where_the_node_can_give_one() {
    // A VM handler besides runc: it gives no pod a user namespace of cricket's making.
    let vm = "[containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\n\
              [containerd.runtimes.vm]\nruntime_type = \"io.containerd.kata.v2\"\n";
    let node =
        Node::start(NodeOptions { registry: true, extra_config: vm.into(), ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let supported = Backend::current() == Backend::Built2;
    let status = cri.runtime.status(StatusRequest { verbose: false }).await.unwrap().into_inner();
    for h in &status.runtime_handlers {
        let expected = supported && h.name != "vm";
        assert_eq!(h.features.unwrap().user_namespaces, expected, "handler {:?}", h.name);
    }
    assert_eq!(status.features.unwrap().user_namespaces_host_network, supported);

    let base = host_base();
    let req = RunPodSandboxRequest {
        config: Some(userns_pod(&node, "on-vm", base)),
        runtime_handler: "vm".into(),
    };
    let err = cri.runtime.run_pod_sandbox(req).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("runtime_handler"), "names the field: {err}");
    if !supported {
        let image = node.registry().push(&e2e::test_images::busybox_image(), "e2e/busybox", "1");
        cri.pull(&image, None).await.unwrap();
        let req = RunPodSandboxRequest {
            config: Some(userns_pod(&node, "refused", base)),
            runtime_handler: String::new(),
        };
        let err = cri.runtime.run_pod_sandbox(req).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
        assert!(err.message().contains("containerd 1.6"), "names what is missing: {err}");
        let pods =
            cri.runtime.list_pod_sandbox(ListPodSandboxRequest { filter: None }).await.unwrap();
        assert!(pods.into_inner().items.is_empty(), "nothing left");
        node.finish();
        return;
    }

    // The node's side of three mounts.
    let host = node.ws.run("userns-host");
    let (root_only, scratch, volume) =
        (host.join("root-only"), host.join("scratch"), host.join("volume"));
    for (dir, mode) in [(&root_only, 0o755), (&scratch, 0o777), (&volume, 0o755)] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
    std::fs::write(volume.join("file"), "owned by the node's root\n").unwrap();

    let mut pod = Pod::start(&node, userns_pod(&node, "userns", base)).await;
    let image = pod.image.clone();
    let map = IdMapping { host_id: base, container_id: 0, length: LENGTH };
    let bind = |host: &std::path::Path, inside: &str| Mount {
        container_path: inside.into(),
        host_path: host.display().to_string(),
        ..Default::default()
    };
    let mut probe = shell(&image, "probe", PROBE);
    probe.mounts = vec![
        bind(&root_only, "/host-root"),
        bind(&scratch, "/scratch"),
        Mount { uid_mappings: vec![map], gid_mappings: vec![map], ..bind(&volume, "/vol") },
    ];
    let (status, lines) = pod.output_of(&node, probe, 8).await;
    assert_eq!(status.exit_code, 0, "{lines:?}\n{}", node.cricket_log_tail(30));
    for want in [
        format!("uid_map=0:{base}:{LENGTH}"),
        "id=0".into(),
        "rootfs-owner=0".into(),
        "host-root=denied".into(),
        "scratch=written".into(),
        "vol-owner=0".into(),
        "vol=written".into(),
    ] {
        assert!(lines.contains(&want), "{want:?} in {lines:?}");
    }
    assert!(!root_only.join("f").exists());
    let made = std::fs::metadata(scratch.join("made")).unwrap();
    assert_eq!((made.uid(), made.gid()), (base, base), "the container's root is the node's {base}");
    let through_volume = std::fs::metadata(volume.join("new")).unwrap();
    assert_eq!(through_volume.uid(), 0, "the idmapped volume maps back to the node's root");

    // With a pause (a shared PID namespace) and on the node's network, the same mapping.
    for (name, shared_pid, host_network) in [("shared-pid", true, false), ("host-net", false, true)]
    {
        let mut config = userns_pod(&node, name, base + LENGTH);
        let ns = config.linux.as_mut().unwrap().security_context.as_mut().unwrap();
        let options = ns.namespace_options.as_mut().unwrap();
        if shared_pid {
            options.pid = NamespaceMode::Pod as i32;
        }
        if host_network {
            options.network = NamespaceMode::Node as i32;
        }
        let mut other = Pod::start(&node, config).await;
        let script = "set -- $(cat /proc/self/uid_map); echo uid_map=$1:$2:$3; echo id=$(id -u)";
        let (status, lines) = other.output_of(&node, shell(&image, name, script), 2).await;
        assert_eq!(status.exit_code, 0, "{name}: {lines:?}");
        assert!(
            lines.contains(&format!("uid_map=0:{}:{LENGTH}", base + LENGTH)),
            "{name}: {lines:?}"
        );
        assert!(lines.contains(&"id=0".to_string()), "{name}: {lines:?}");
        other.remove().await;
    }

    // A container that asks for the pod's user namespace in a pod without one is refused.
    let plain = Pod::start(&node, pod_config(&node, "plain")).await;
    let mut wrong = shell(&image, "wrong", "true");
    let sc = LinuxContainerSecurityContext {
        namespace_options: userns_pod(&node, "x", base)
            .linux
            .unwrap()
            .security_context
            .unwrap()
            .namespace_options,
        ..Default::default()
    };
    wrong.linux = Some(LinuxContainerConfig { security_context: Some(sc), ..Default::default() });
    let mut plain = plain;
    let err = plain.create(wrong).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("userns_options"), "{err}");
    plain.remove().await;
    pod.remove().await;
    for p in [&scratch.join("made"), &volume.join("new")] {
        std::fs::remove_file(p).unwrap();
    }
    node.finish();
}
