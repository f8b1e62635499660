//! UpdateContainerResources on a running container: the cgroup changes, ContainerStatus and the
//! recorded spec show the merged values, and they survive a cricket SIGKILL; the bad cases
//! name their field. ContainerStatus also reports the resolved user.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

/// A cgroup v1 file of the container, read through its mount namespace.
fn cgroup_value(pid: u32, controller: &str, file: &str) -> u64 {
    let path = format!("/proc/{pid}/root/sys/fs/cgroup/{controller}/{file}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")).trim().parse().unwrap()
}

fn memory_and_shares(memory: i64, shares: i64) -> LinuxContainerResources {
    LinuxContainerResources {
        memory_limit_in_bytes: memory,
        cpu_shares: shares,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_update_the_cgroup_and_status_and_survive_a_restart() {
    let mut node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "sized")).await;
    let mut config = shell(&pod.image.clone(), "app", "sleep 1000");
    config.linux = Some(LinuxContainerConfig {
        resources: Some(memory_and_shares(64 << 20, 512)),
        security_context: Some(LinuxContainerSecurityContext {
            run_as_user: Some(Int64Value { value: 1000 }),
            ..Default::default()
        }),
    });
    let id = pod.run(config).await;
    let pid = pod.pid(&id).await;
    assert_eq!(cgroup_value(pid, "memory", "memory.limit_in_bytes"), 64 << 20);
    assert_eq!(cgroup_value(pid, "cpu", "cpu.shares"), 512);
    let user = pod.status(&id).await.user.and_then(|u| u.linux).unwrap();
    assert_eq!(
        (user.uid, user.gid),
        (1000, 0),
        "uid as asked, gid from the image (none for 1000: 0)"
    );

    let update = |linux: Option<LinuxContainerResources>, id: &str| {
        UpdateContainerResourcesRequest { container_id: id.into(), linux, ..Default::default() }
    };
    pod.cri
        .runtime
        .update_container_resources(update(Some(memory_and_shares(128 << 20, 0)), &id))
        .await
        .unwrap();
    assert_eq!(
        cgroup_value(pid, "memory", "memory.limit_in_bytes"),
        128 << 20,
        "applied to the running task"
    );
    assert_eq!(cgroup_value(pid, "cpu", "cpu.shares"), 512, "a zero keeps the value in force");
    let shown = |s: ContainerStatus| {
        s.resources.and_then(|r| r.linux).map(|l| (l.memory_limit_in_bytes, l.cpu_shares))
    };
    assert_eq!(shown(pod.status(&id).await), Some((128 << 20, 512)));
    let spec = &pod.verbose_info(&id).await["runtimeSpec"];
    assert_eq!(
        spec["linux"]["resources"]["memory"]["limit"],
        128 << 20,
        "the recorded spec follows"
    );

    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    node.cricket().start_again();
    node.wait_ready().await;
    pod.cri = node.client().await;
    assert_eq!(shown(pod.status(&id).await), Some((128 << 20, 512)), "persisted");

    let err = pod
        .cri
        .runtime
        .update_container_resources(update(Some(memory_and_shares(1, 0)), "nope"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = pod.cri.runtime.update_container_resources(update(None, &id)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("linux"), "{err}");
    pod.cri
        .runtime
        .stop_container(StopContainerRequest { container_id: id.clone(), timeout: 0 })
        .await
        .unwrap();
    let err = pod
        .cri
        .runtime
        .update_container_resources(update(Some(memory_and_shares(256 << 20, 0)), &id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    pod.remove().await;
    node.finish();
}
