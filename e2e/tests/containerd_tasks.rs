//! The container and task side of containerd-bridge against a real containerd and runc: the
//! built-in pause image runs as a task in a pinned network namespace and goes away completely.

use std::time::Duration;

use containerd_bridge::{
    chain_ids, Containerd, ContainerdConfig, NewContainer, RuncOptions, TaskIo,
};
use cricket::adapters::namespace_pins::{LinuxPinner, NamespacePinner};
use e2e::node::NAMESPACE;
use e2e::{Node, NodeOptions};

/// The sandbox spec cricket builds for a pod with a hostname and a namespaced sysctl.
fn pause_spec(id: &str, netns: &std::path::Path) -> Vec<u8> {
    use cricket::api::v1::{LinuxPodSandboxConfig, PodSandboxConfig, PodSandboxMetadata};
    let config = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "web".into(),
            uid: "uid-1".into(),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: "e2e-pod".into(),
        linux: Some(LinuxPodSandboxConfig {
            sysctls: [("net.ipv4.ip_unprivileged_port_start".to_string(), "80".to_string())].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let own_oom =
        std::fs::read_to_string("/proc/self/oom_score_adj").unwrap().trim().parse().unwrap();
    let options = cricket::spec::SandboxSpecOptions {
        id,
        netns: Some(netns),
        ipcns: None,
        utsns: None,
        userns: None,
        args: vec!["/pause".into()],
        image_name: "localhost/cricket/pause",
        systemd_cgroup: false,
        daemon_oom_score_adj: own_oom,
        etc_files: None,
        shm: None,
    };
    serde_json::to_vec(&cricket::spec::sandbox_spec(&config, &options).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pause_image_runs_as_a_task_in_a_pinned_netns_and_leaves_nothing() {
    let node = Node::start(NodeOptions::default());
    node.wait_ready().await;
    let containerd = Containerd::new(ContainerdConfig {
        address: node.containerd.address.clone(),
        namespace: NAMESPACE.into(),
        snapshotter: "overlayfs".into(),
    })
    .unwrap();
    let pause = cricket::pause_image::build();
    let parent = chain_ids(&pause.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>())
        .pop()
        .unwrap();
    let netns = LinuxPinner::new(node.ws.run("pins"));
    let pin = netns.create_netns("sandbox-1").unwrap();
    let id = format!("e2e-sandbox-{}", node.ws.id);

    let lease = containerd.create_lease("e2e", Duration::from_secs(600)).await.unwrap();
    let mounts = containerd.prepare_rootfs(&lease, &id, &parent, Default::default()).await.unwrap();
    let container = NewContainer {
        id: id.clone(),
        labels: [("io.cricket.kind".to_string(), "sandbox".to_string())].into(),
        image: cricket::pause_image::image_name(),
        runtime_type: "io.containerd.runc.v2".into(),
        runtime_options: Some(RuncOptions::default().to_any()),
        spec: pause_spec(&id, &pin),
        snapshot_key: id.clone(),
        extensions: Default::default(),
    };
    containerd.create_container(Some(&lease), &container).await.unwrap();
    containerd.delete_lease(&lease, false).await.unwrap();
    assert!(containerd.get_container(&id).await.unwrap().is_some());

    let pid = containerd.create_task(&id, mounts, &TaskIo::default()).await.unwrap();
    assert_eq!(containerd.start_task(&id).await.unwrap(), pid);
    // runc start returns once init is released; its execve of /pause may still be under way
    // (cmdline reads as runc init's, or empty, in between).
    let exec_done = e2e::eventually(Duration::from_secs(5), || async {
        std::fs::read(format!("/proc/{pid}/cmdline")).ok().filter(|c| c == b"/pause\0")
    })
    .await;
    assert!(exec_done.is_some(), "the task runs /pause");
    let task_netns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let pinned = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&pin).unwrap());
    assert_eq!(
        task_netns.display().to_string(),
        format!("net:[{pinned}]"),
        "the task joined the pinned netns"
    );
    let in_task = |ns: &str, args: &[&str]| {
        let out = std::process::Command::new("nsenter")
            .args(["-t", &pid.to_string(), ns])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(in_task("-u", &["hostname"]), "e2e-pod", "the pod's hostname");
    assert_eq!(
        in_task("-n", &["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]),
        "80",
        "the namespaced sysctl"
    );

    let waiter = {
        let containerd = containerd.clone();
        let id = id.clone();
        tokio::spawn(async move { containerd.wait_task(&id).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    containerd.kill_task(&id, libc::SIGTERM as u32, false).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("exits on SIGTERM")
        .unwrap()
        .unwrap();
    assert_eq!(exit.code, 0, "pause exits 0 on SIGTERM");
    assert!(exit.exited_at_ns > 0);

    assert_eq!(containerd.delete_task(&id).await.unwrap(), Some(0));
    assert_eq!(containerd.delete_task(&id).await.unwrap(), None, "a second delete finds nothing");
    containerd.delete_container(&id).await.unwrap();
    containerd.remove_snapshot(&id).await.unwrap();
    containerd.delete_container(&id).await.expect("deleting twice is fine");
    netns.remove(&pin).unwrap();
    assert!(!node.containerd.snapshot_keys(NAMESPACE).contains(&id));
    node.finish();
}
