//! Containers in a pod without a pause: create from a pulled busybox image (shown by its tag
//! when created by ID), start, logs in CRI format from both streams, exit code and reason,
//! stop of a SIGTERM-ignoring process after its timeout, and everything gone after remove.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::node::NAMESPACE;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_runs_logs_both_streams_exits_and_goes_away() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "web")).await;
    let image = pod.image.clone();

    let script = "echo $GREETING out; echo err >&2; hostname; id -u; exit 3";
    // As kubelet creates: by image ID, with the pod's name for the image beside it.
    let image_req = ImageStatusRequest {
        image: Some(ImageSpec { image: image.clone(), ..Default::default() }),
        verbose: false,
    };
    let image_id =
        pod.cri.image.image_status(image_req).await.unwrap().into_inner().image.unwrap().id;
    let mut app = shell(&image, "app", script);
    app.image = Some(ImageSpec {
        image: image_id.clone(),
        user_specified_image: image.clone(),
        ..Default::default()
    });
    let id = pod.create(app).await.unwrap();
    let s = pod.status(&id).await;
    assert_eq!(s.state, ContainerState::ContainerCreated as i32);
    // Shown by its tag (kubelet shows this as the pod's container image), as containerd does.
    assert_eq!((s.image.unwrap().image, s.image_id), (image.clone(), image_id));
    let dup = pod.create(shell(&image, "app", script)).await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists, "{dup}");
    pod.cri
        .runtime
        .start_container(StartContainerRequest { container_id: id.clone() })
        .await
        .unwrap();
    let s = pod.wait_exited(&node, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (3, "Error"));
    assert!(s.finished_at >= s.started_at && s.started_at > 0);

    let log_file = node.ws.run("logs").join("app/0.log");
    let log = e2e::eventually(Duration::from_secs(5), || async {
        std::fs::read_to_string(&log_file).ok().filter(|l| l.lines().count() >= 4)
    })
    .await
    .unwrap();
    let lines: Vec<(String, String, String)> = log
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            (f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect();
    for want in [
        ("stdout", "F", "hello out"),
        ("stderr", "F", "err"),
        ("stdout", "F", "web-host"),
        ("stdout", "F", "0"),
    ] {
        assert!(
            lines.iter().any(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()) == want),
            "{want:?} in {log}"
        );
    }

    let sid = pod
        .run(shell(&image, "stubborn", "trap '' TERM; echo ready; while true; do sleep 1; done"))
        .await;
    assert_eq!(pod.status(&sid).await.state, ContainerState::ContainerRunning as i32);
    let cri = &mut pod.cri;
    let t0 = std::time::Instant::now();
    cri.runtime
        .stop_container(StopContainerRequest { container_id: sid.clone(), timeout: 2 })
        .await
        .unwrap();
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "SIGTERM was ignored, so stop waited for the timeout"
    );
    let s = pod.status(&sid).await;
    assert_eq!((s.state, s.exit_code), (ContainerState::ContainerExited as i32, 137));
    pod.cri
        .runtime
        .stop_container(StopContainerRequest { container_id: sid.clone(), timeout: 2 })
        .await
        .expect("stop twice");

    // StopPodSandbox kills what still runs in the pod; RemovePodSandbox removes it.
    let lid = pod.run(shell(&image, "left", "sleep 1000")).await;
    let pod_id = pod.id.clone();
    pod.cri
        .runtime
        .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod_id.clone() })
        .await
        .unwrap();
    assert_eq!(
        pod.status(&lid).await.state,
        ContainerState::ContainerExited as i32,
        "the pod's stop stopped it"
    );
    let cri = &mut pod.cri;

    let listed = cri
        .runtime
        .list_containers(ListContainersRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert_eq!(listed.len(), 3);
    for cid in [&id, &sid] {
        for _ in 0..2 {
            cri.runtime
                .remove_container(RemoveContainerRequest { container_id: cid.to_string() })
                .await
                .expect("remove (twice)");
        }
    }
    let err = cri
        .runtime
        .container_status(ContainerStatusRequest { container_id: id.clone(), verbose: false })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    cri.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod_id })
        .await
        .unwrap();
    let left = cri
        .runtime
        .container_status(ContainerStatusRequest { container_id: lid, verbose: false })
        .await
        .unwrap_err();
    assert_eq!(left.code(), Code::NotFound, "the pod's remove removed its container");
    let (_, containers, _) = node.containerd.ctr(NAMESPACE, &["containers", "ls", "-q"]);
    assert!(containers.trim().is_empty(), "{containers}");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_and_their_logs_survive_sigkill_of_cricket_and_an_exit_while_it_is_down_is_recorded(
) {
    let mut node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "web")).await;
    // Counts every 100 ms; exits 7 when /tmp/stop appears (made while cricket is down).
    let script =
        "i=0; while [ ! -e /tmp/stop ]; do echo tick $i; i=$((i+1)); sleep 0.1; done; exit 7";
    let id = pod.run(shell(&pod.image.clone(), "ticker", script)).await;
    let pid = pod.pid(&id).await;
    let log_file = node.ws.run("logs").join("ticker/0.log");
    let lines = || std::fs::read_to_string(&log_file).unwrap_or_default().lines().count();

    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    let before = lines();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(lines() > before, "output kept flowing into the log while cricket was down");
    std::fs::write(format!("/proc/{pid}/root/tmp/stop"), "").unwrap();
    // Files of a container containerd does not know (a remove cut short) go at the restart.
    let orphans =
        [node.ws.lib("cricket/containers/0rphan"), node.ws.run("cricket/containers/0rphan")];
    for dir in &orphans {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("status.json"), "{}").unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    node.cricket().start_again();
    node.wait_ready().await;
    pod.cri = node.client().await;
    let s = pod.wait_exited(&node, &id).await;
    assert_eq!(
        (s.exit_code, s.reason.as_str()),
        (7, "Error"),
        "the real exit code of an exit while cricket was down"
    );
    assert!(orphans.iter().all(|d| !d.exists()), "orphaned container files swept");
    assert!(
        node.ws.lib(&format!("cricket/containers/{id}")).exists(),
        "a known container's files stay"
    );
    let log = std::fs::read_to_string(&log_file).unwrap();
    let ticks: Vec<u64> = log.lines().filter_map(|l| l.rsplit(' ').next()?.parse().ok()).collect();
    assert!(
        ticks.len() > 5 && ticks.iter().enumerate().all(|(i, t)| *t == i as u64),
        "no line lost: {ticks:?}"
    );
    pod.cri.runtime.remove_container(RemoveContainerRequest { container_id: id }).await.unwrap();
    pod.remove().await;
    node.finish();
}

/// A pod without a pause shares one shim among its containers, and the shim leaves with its
/// last task: a container started just as the only other one exits (and its task is deleted)
/// must still start, in a new shim if need be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_starts_while_the_pods_only_other_one_exits() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "turns")).await;
    let image = pod.image.clone();
    for i in 0..30u64 {
        let next = pod.create(shell(&image, &format!("next-{i}"), "exit 0")).await.unwrap();
        let quick = pod.run(shell(&image, &format!("quick-{i}"), "exit 0")).await;
        // Spread over the moments of the quick one's exit and task delete.
        tokio::time::sleep(Duration::from_millis(i % 10 * 4)).await;
        let started = pod
            .cri
            .runtime
            .start_container(StartContainerRequest { container_id: next.clone() })
            .await;
        assert!(started.is_ok(), "round {i}: {started:?}");
        for id in [quick, next] {
            pod.wait_exited(&node, &id).await;
        }
    }
    pod.remove().await;
    node.finish();
}
