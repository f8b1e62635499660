//! Containers in a pod without a pause: create from a pulled busybox image, start, logs in CRI
//! format from both streams, exit code and reason, stop of a SIGTERM-ignoring process after
//! its timeout, and everything gone after remove.

use std::time::Duration;

use e2e::node::NAMESPACE;
use e2e::test_images::busybox_image;
use e2e::{Node, NodeOptions};
use k8s_cri::v1::*;
use tonic::Code;

fn pod(node: &Node) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata { name: "web".into(), uid: "uid-web".into(), namespace: "e2e".into(), attempt: 0 }),
        hostname: "web-host".into(),
        log_directory: node.ws.run("logs").display().to_string(),
        linux: e2e::pods::kubelet_linux(),
        ..Default::default()
    }
}

fn container(image: &str, name: &str, script: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into(), ..Default::default() }),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        envs: vec![KeyValue { key: "GREETING".into(), value: "hello".into() }],
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

async fn status(cri: &mut e2e::cri_client::CriClient, id: &str) -> ContainerStatus {
    cri.runtime.container_status(ContainerStatusRequest { container_id: id.into(), verbose: false }).await.unwrap().into_inner().status.unwrap()
}

async fn wait_exited(cri: &mut e2e::cri_client::CriClient, id: &str) -> ContainerStatus {
    for _ in 0..500 {
        let s = status(cri, id).await;
        if s.state == ContainerState::ContainerExited as i32 {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("container {id} did not exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_runs_logs_both_streams_exits_and_goes_away() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let image = node.registry().push(&busybox_image(), "e2e/busybox", "1");
    cri.pull(&image, None).await.unwrap();
    let config = pod(&node);
    let pod_id = cri.runtime.run_pod_sandbox(RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() }).await.unwrap().into_inner().pod_sandbox_id;

    let script = "echo $GREETING out; echo err >&2; hostname; id -u; exit 3";
    let create = |c: ContainerConfig| CreateContainerRequest { pod_sandbox_id: pod_id.clone(), config: Some(c), sandbox_config: Some(config.clone()) };
    let id = cri.runtime.create_container(create(container(&image, "app", script))).await.unwrap().into_inner().container_id;
    assert_eq!(status(&mut cri, &id).await.state, ContainerState::ContainerCreated as i32);
    let dup = cri.runtime.create_container(create(container(&image, "app", script))).await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists, "{dup}");
    cri.runtime.start_container(StartContainerRequest { container_id: id.clone() }).await.unwrap();
    let s = wait_exited(&mut cri, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (3, "Error"));
    assert!(s.finished_at >= s.started_at && s.started_at > 0);

    let log_file = node.ws.run("logs").join("app/0.log");
    let log = e2e::eventually(Duration::from_secs(5), || async { std::fs::read_to_string(&log_file).ok().filter(|l| l.lines().count() >= 4) }).await.unwrap();
    let lines: Vec<(String, String, String)> = log
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            (f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect();
    for want in [("stdout", "F", "hello out"), ("stderr", "F", "err"), ("stdout", "F", "web-host"), ("stdout", "F", "0")] {
        assert!(lines.iter().any(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()) == want), "{want:?} in {log}");
    }

    let stubborn = container(&image, "stubborn", "trap '' TERM; echo ready; while true; do sleep 1; done");
    let sid = cri.runtime.create_container(create(stubborn)).await.unwrap().into_inner().container_id;
    cri.runtime.start_container(StartContainerRequest { container_id: sid.clone() }).await.unwrap();
    assert_eq!(status(&mut cri, &sid).await.state, ContainerState::ContainerRunning as i32);
    let t0 = std::time::Instant::now();
    cri.runtime.stop_container(StopContainerRequest { container_id: sid.clone(), timeout: 2 }).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(2), "SIGTERM was ignored, so stop waited for the timeout");
    let s = status(&mut cri, &sid).await;
    assert_eq!((s.state, s.exit_code), (ContainerState::ContainerExited as i32, 137));
    cri.runtime.stop_container(StopContainerRequest { container_id: sid.clone(), timeout: 2 }).await.expect("stop twice");

    // StopPodSandbox kills what still runs in the pod; RemovePodSandbox removes it.
    let left = container(&image, "left", "sleep 1000");
    let lid = cri.runtime.create_container(create(left)).await.unwrap().into_inner().container_id;
    cri.runtime.start_container(StartContainerRequest { container_id: lid.clone() }).await.unwrap();
    cri.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod_id.clone() }).await.unwrap();
    assert_eq!(status(&mut cri, &lid).await.state, ContainerState::ContainerExited as i32, "the pod's stop stopped it");

    let listed = cri.runtime.list_containers(ListContainersRequest { filter: None }).await.unwrap().into_inner().containers;
    assert_eq!(listed.len(), 3);
    for cid in [&id, &sid] {
        for _ in 0..2 {
            cri.runtime.remove_container(RemoveContainerRequest { container_id: cid.to_string() }).await.expect("remove (twice)");
        }
    }
    let err = cri.runtime.container_status(ContainerStatusRequest { container_id: id.clone(), verbose: false }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    cri.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod_id }).await.unwrap();
    let left = cri.runtime.container_status(ContainerStatusRequest { container_id: lid, verbose: false }).await.unwrap_err();
    assert_eq!(left.code(), Code::NotFound, "the pod's remove removed its container");
    let (_, containers, _) = node.containerd.ctr(NAMESPACE, &["containers", "ls", "-q"]);
    assert!(containers.trim().is_empty(), "{containers}");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_and_their_logs_survive_sigkill_of_cricket_and_an_exit_while_it_is_down_is_recorded() {
    let mut node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let image = node.registry().push(&busybox_image(), "e2e/busybox", "1");
    cri.pull(&image, None).await.unwrap();
    let config = pod(&node);
    let pod_id = cri.runtime.run_pod_sandbox(RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() }).await.unwrap().into_inner().pod_sandbox_id;
    let create = |c: ContainerConfig| CreateContainerRequest { pod_sandbox_id: pod_id.clone(), config: Some(c), sandbox_config: Some(config.clone()) };
    // Counts every 100 ms; exits 7 when /tmp/stop appears (made while cricket is down).
    let script = "i=0; while [ ! -e /tmp/stop ]; do echo tick $i; i=$((i+1)); sleep 0.1; done; exit 7";
    let id = cri.runtime.create_container(create(container(&image, "ticker", script))).await.unwrap().into_inner().container_id;
    cri.runtime.start_container(StartContainerRequest { container_id: id.clone() }).await.unwrap();
    let pid = cri.runtime.container_status(ContainerStatusRequest { container_id: id.clone(), verbose: true }).await.unwrap().into_inner().info["info"].clone();
    let pid = serde_json::from_str::<serde_json::Value>(&pid).unwrap()["pid"].as_u64().unwrap();
    let log_file = node.ws.run("logs").join("ticker/0.log");
    let lines = || std::fs::read_to_string(&log_file).unwrap_or_default().lines().count();

    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    let before = lines();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(lines() > before, "output kept flowing into the log while cricket was down");
    std::fs::write(format!("/proc/{pid}/root/tmp/stop"), "").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    node.cricket().start_again();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let s = wait_exited(&mut cri, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (7, "Error"), "the real exit code of an exit while cricket was down");
    let log = std::fs::read_to_string(&log_file).unwrap();
    let ticks: Vec<u64> = log.lines().filter_map(|l| l.rsplit(' ').next()?.parse().ok()).collect();
    assert!(ticks.len() > 5 && ticks.iter().enumerate().all(|(i, t)| *t == i as u64), "no line lost: {ticks:?}");
    cri.runtime.remove_container(RemoveContainerRequest { container_id: id }).await.unwrap();
    cri.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod_id.clone() }).await.unwrap();
    cri.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod_id }).await.unwrap();
    node.finish();
}
