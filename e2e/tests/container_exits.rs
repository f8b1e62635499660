//! Exit tracking from containerd's task events: an OOM kill reads OOMKilled/137, an exit
//! while containerd is down is recorded once it is back (resync), and a pod whose pause
//! dies becomes NotReady, and stops cleanly when it dies as it is being stopped.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::backend::Backend;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

async fn node_with_network() -> Node {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_kill_reads_oomkilled_with_137_and_a_clean_exit_completed() {
    let node = node_with_network().await;
    let mut pod = Pod::start(&node, pod_config(&node, "oom")).await;
    let image = pod.image.clone();
    // dd's one 256 MiB block does not fit in 32 MiB.
    let id = pod.run(hog(&image, 0)).await;
    let mut s = pod.wait_exited(&node, &id).await;
    // The OOM event and the exit event arrive separately; the reason settles on OOMKilled.
    for _ in 0..50 {
        if s.reason == "OOMKilled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        s = pod.status(&id).await;
    }
    assert_eq!((s.exit_code, s.reason.as_str()), (137, "OOMKilled"), "{s:?}");

    let id = pod.run(shell(&image, "fine", "true")).await;
    let s = pod.wait_exited(&node, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (0, "Completed"));
    pod.remove().await;
    node.finish();
}

/// A container limited to 32 MiB that asks for 256 MiB after `delay` seconds.
fn hog(image: &str, delay: u32) -> ContainerConfig {
    let mut hog = shell(
        image,
        "hog",
        &format!("sleep {delay}; exec dd if=/dev/zero of=/dev/null bs=256M count=1"),
    );
    hog.linux = Some(LinuxContainerConfig {
        resources: Some(LinuxContainerResources {
            memory_limit_in_bytes: 32 << 20,
            memory_swap_limit_in_bytes: 32 << 20,
            ..Default::default()
        }),
        ..Default::default()
    });
    hog
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_kill_while_cricket_is_down_reads_oomkilled_after_its_restart() {
    let node = node_with_network().await;
    // A cgroup parent, as kubelet gives every pod: the restarted cricket looks there.
    let test_cgroups = e2e::workload::TestCgroups(format!("/cricket-e2e-{}", node.ws.id));
    let mut config = pod_config(&node, "oom-down");
    config.linux.as_mut().unwrap().cgroup_parent = format!("{}/pod-oom", test_cgroups.0);
    let mut pod = Pod::start(&node, config).await;
    let image = pod.image.clone();
    let id = pod.run(hog(&image, 3)).await;
    let mut node = node;
    // Down before the kill: no OOM event reaches cricket; the cgroup's count tells.
    assert!(node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).is_some());
    let stopped = e2e::eventually(Duration::from_secs(30), || {
        let (_, tasks, _) = node.containerd.ctr(e2e::node::NAMESPACE, &["tasks", "ls"]);
        let line = tasks.lines().find(|l| l.starts_with(id.as_str())).map(str::to_string);
        async move { line.filter(|l| l.contains("STOPPED")).map(|_| ()) }
    })
    .await;
    assert!(stopped.is_some(), "the hog was killed while cricket was down");
    node.cricket().start_again();
    node.wait_ready().await;
    let s = pod.wait_exited(&node, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (137, "OOMKilled"), "{s:?}");
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_while_containerd_is_down_is_recorded_when_it_returns() {
    let node = node_with_network().await;
    let mut pod = Pod::start(&node, pod_config(&node, "resync")).await;
    let image = pod.image.clone();
    let doomed = pod.run(shell(&image, "doomed", "sleep 1000")).await;
    let survivor = pod.run(shell(&image, "survivor", "sleep 1000")).await;
    let pid = pod.pid(&doomed).await;

    let mut node = node;
    node.containerd.stop();
    // The shim outlives containerd and reaps the process; nobody is subscribed to hear it.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.containerd.start_again();

    let s = pod.wait_exited(&node, &doomed).await;
    // containerd 1.6 keeps the stopped task, so the resync reads its real exit code. containerd
    // 2.x deletes a task with no live process when it loads its shims, before any client can
    // read the exit (its own CRI then reports 255, Unknown too).
    let expected = match Backend::current() {
        Backend::Debian => (137, "Error"),
        Backend::Built2 => (255, "Unknown"),
    };
    assert_eq!((s.exit_code, s.reason.as_str()), expected, "the exit, after the resync");
    assert_eq!(
        pod.status(&survivor).await.state,
        ContainerState::ContainerRunning as i32,
        "a running container stays running"
    );
    // And the subscription is live again: a new exit is heard.
    pod.cri
        .runtime
        .stop_container(StopContainerRequest { container_id: survivor.clone(), timeout: 0 })
        .await
        .unwrap();
    assert_eq!(pod.status(&survivor).await.exit_code, 137);
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_whose_pause_dies_becomes_not_ready() {
    let node = node_with_network().await;
    // No namespace options: one PID namespace for the pod, so it has a pause.
    let config = PodSandboxConfig { linux: None, ..pod_config(&node, "paused") };
    let mut pod = Pod::start(&node, config).await;
    let req = PodSandboxStatusRequest { pod_sandbox_id: pod.id.clone(), verbose: true };
    let reply = pod.cri.runtime.pod_sandbox_status(req.clone()).await.unwrap().into_inner();
    assert_eq!(reply.status.as_ref().unwrap().state, PodSandboxState::SandboxReady as i32);
    let info: serde_json::Value = serde_json::from_str(&reply.info["info"]).unwrap();
    let pause = info["pid"].as_i64().filter(|p| *p > 0).expect("the pod has a pause");

    unsafe { libc::kill(pause as i32, libc::SIGKILL) };
    let not_ready = e2e::eventually(Duration::from_secs(10), || {
        let (mut cri, req) = (pod.cri.clone(), req.clone());
        async move {
            let s = cri.runtime.pod_sandbox_status(req).await.unwrap().into_inner().status.unwrap();
            (s.state == PodSandboxState::SandboxNotready as i32).then_some(())
        }
    })
    .await;
    assert!(
        not_ready.is_some(),
        "the pod is NotReady after its pause died; cricket's log ends:\n{}",
        node.cricket_log_tail(30)
    );
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_whose_pause_is_killed_as_it_is_stopped_stops_cleanly() {
    let node = node_with_network().await;
    let mut cri = node.client().await;
    let image = node.registry().push(&e2e::test_images::busybox_image(), "e2e/busybox", "1");
    cri.pull(&image, None).await.unwrap();
    // The pause's exit races StopPodSandbox: the exit handler deletes the task while the stop
    // kills and deletes it too (containerd's shim then answers "ttrpc: closed").
    for i in 0..6 {
        let config = PodSandboxConfig { linux: None, ..pod_config(&node, &format!("race{i}")) };
        let run = RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() };
        let id = cri.runtime.run_pod_sandbox(run).await.unwrap().into_inner().pod_sandbox_id;
        let req = PodSandboxStatusRequest { pod_sandbox_id: id.clone(), verbose: true };
        let reply = cri.runtime.pod_sandbox_status(req).await.unwrap().into_inner();
        let info: serde_json::Value = serde_json::from_str(&reply.info["info"]).unwrap();
        let pause = info["pid"].as_i64().filter(|p| *p > 0).expect("the pod has a pause");
        // Staggered, so that some kills land before the stop and some during it.
        tokio::time::sleep(Duration::from_millis(5 * i)).await;
        unsafe { libc::kill(pause as i32, libc::SIGKILL) };
        cri.runtime
            .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() })
            .await
            .expect("the pod stops");
        cri.runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
            .await
            .expect("and goes");
    }
    // The pod's shim dies (and the pause with it): containerd answers for the task with
    // "ttrpc: closed" or not at all; the stop must still succeed and leave nothing.
    for i in 0..2 {
        let config = PodSandboxConfig { linux: None, ..pod_config(&node, &format!("shimless{i}")) };
        let run = RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() };
        let id = cri.runtime.run_pod_sandbox(run).await.unwrap().into_inner().pod_sandbox_id;
        let shims: Vec<i32> = e2e::leaks::processes_naming(&id)
            .iter()
            .filter(|p| p.contains("containerd-shim"))
            .filter_map(|p| p.split(':').next()?.parse().ok())
            .collect();
        assert_eq!(shims.len(), 1, "one shim serves the pod: {shims:?}");
        unsafe { libc::kill(shims[0], libc::SIGKILL) };
        tokio::time::sleep(Duration::from_millis(50 * i)).await;
        cri.runtime
            .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() })
            .await
            .expect("a pod whose shim died stops");
        cri.runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
            .await
            .expect("and goes");
    }
    let (_, tasks, _) = node.containerd.ctr(e2e::node::NAMESPACE, &["tasks", "ls", "-q"]);
    assert!(tasks.trim().is_empty(), "no task left: {tasks}");
    node.finish();
}
