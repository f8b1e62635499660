//! ContainerStats and ListContainerStats from cgroups: a busy loop's rate in
//! `usage_nano_cores`, its writable layer's usage, a memory hog's working set, filters, an
//! unknown container, a stopped one with zero usage, and containers listed the moment they are
//! created or started (before the sampler's next round).

use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

fn labelled(image: &str, name: &str, script: &str, role: &str) -> ContainerConfig {
    let mut c = shell(image, name, script);
    c.labels.insert("role".into(), role.into());
    c
}

/// Two CPU readings the sampler took one after the other (a second apart), polled for up to 10 s.
async fn consecutive_cpu_readings<F, Fut>(stats: &F, id: &str) -> (CpuUsage, CpuUsage)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<ContainerStats, tonic::Status>>,
{
    let mut last: Option<CpuUsage> = None;
    for _ in 0..100 {
        if let Some(cpu) = stats(id.to_string()).await.ok().and_then(|s| s.cpu) {
            if let Some(prev) = last.as_ref().filter(|p| p.timestamp != cpu.timestamp) {
                let gap = cpu.timestamp - prev.timestamp;
                if gap < 1_500_000_000 && cpu.usage_nano_cores.is_some() {
                    return (*prev, cpu);
                }
            }
            last = Some(cpu);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no two consecutive CPU readings of {id} within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_memory_filters_and_missing_containers() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "stats")).await;
    let image = pod.image.clone();
    let busy = pod.run(labelled(&image, "busy", "while true; do :; done", "cpu")).await;
    // dd fills a 64 MiB buffer, then blocks writing it to a pipe nobody reads: 64 MiB held.
    let hog = pod
        .run(labelled(&image, "hog", "dd if=/dev/zero bs=64M count=1 | sleep 1000", "memory"))
        .await;

    let rt = pod.cri.runtime.clone();
    let stats = |id: String| {
        let mut rt = rt.clone();
        async move {
            rt.container_stats(ContainerStatsRequest { container_id: id })
                .await
                .map(|r| r.into_inner().stats.unwrap())
        }
    };
    // The rate is the sampler's: the CPU time between two consecutive readings over the time
    // between them. Checked against the cumulative counter, not against a share of a core that
    // other tests on a loaded two-core machine also compete for.
    let (before, after) = consecutive_cpu_readings(&stats, &busy).await;
    let cumulative = |u: &CpuUsage| u.usage_core_nano_seconds.as_ref().map(|v| v.value).unwrap();
    let elapsed = u128::try_from(after.timestamp - before.timestamp).unwrap();
    let expected =
        (u128::from(cumulative(&after) - cumulative(&before)) * 1_000_000_000 / elapsed) as u64;
    let cores = after.usage_nano_cores.map(|v| v.value).expect("a CPU rate");
    assert!(
        cores.abs_diff(expected) <= expected / 50 + 1_000_000,
        "usage_nano_cores {cores} is the rate of usage_core_nano_seconds, {expected}"
    );
    assert!(
        (50_000_000..=1_100_000_000).contains(&cores),
        "a single busy loop uses some of one core and never more: {cores}"
    );

    // The writable layer: 5 MB written into the rootfs show.
    let mut rt_w = rt.clone();
    let write = ExecSyncRequest {
        container_id: busy.clone(),
        cmd: vec!["/bin/sh".into(), "-c".into(), "head -c 5000000 /dev/zero > /big".into()],
        timeout: 10,
    };
    assert_eq!(rt_w.exec_sync(write).await.unwrap().into_inner().exit_code, 0);
    let layer = e2e::eventually(Duration::from_secs(20), || {
        let f = stats(busy.clone());
        async move {
            f.await.ok()?.writable_layer?.used_bytes.map(|v| v.value).filter(|v| *v >= 5_000_000)
        }
    })
    .await;
    assert!(layer.is_some(), "the 5 MB file is in the writable layer's usage");
    // cricket measures the layer itself: what containerd's snapshotter says of it.
    let containerd = containerd_bridge::Containerd::new(containerd_bridge::ContainerdConfig {
        address: node.containerd.address.clone(),
        namespace: e2e::node::NAMESPACE.into(),
        snapshotter: "overlayfs".into(),
    })
    .unwrap();
    let theirs = containerd.snapshot_key_usage(&busy).await.unwrap().expect("busy's snapshot");
    let ours = stats(busy.clone()).await.unwrap().writable_layer.unwrap();
    assert_eq!(
        (ours.used_bytes.map(|v| v.value), ours.inodes_used.map(|v| v.value)),
        (Some(theirs.bytes), Some(theirs.inodes)),
        "cricket's measure of the writable layer is containerd's"
    );

    let working_set = e2e::eventually(Duration::from_secs(10), || {
        let f = stats(hog.clone());
        async move {
            f.await.ok()?.memory?.working_set_bytes.map(|v| v.value).filter(|v| *v >= 64 << 20)
        }
    })
    .await;
    assert!(working_set.is_some(), "the hog's 64 MiB are in its working set");

    let list = |f: ContainerStatsFilter| {
        let mut rt = rt.clone();
        async move {
            let mut ids: Vec<String> = rt
                .list_container_stats(ListContainerStatsRequest { filter: Some(f) })
                .await
                .unwrap()
                .into_inner()
                .stats
                .into_iter()
                .map(|s| s.attributes.unwrap().id)
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![busy.clone(), hog.clone()];
    both.sort();
    assert_eq!(list(ContainerStatsFilter::default()).await, both);
    assert_eq!(
        list(ContainerStatsFilter { id: busy[..12].into(), ..Default::default() }).await,
        std::slice::from_ref(&busy),
        "by ID prefix"
    );
    assert_eq!(
        list(ContainerStatsFilter { pod_sandbox_id: pod.id.clone(), ..Default::default() }).await,
        both
    );
    let by_label = ContainerStatsFilter {
        label_selector: [("role".to_string(), "memory".to_string())].into(),
        ..Default::default()
    };
    assert_eq!(list(by_label).await, std::slice::from_ref(&hog));

    let err = stats("nope".into()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    rt.clone()
        .stop_container(StopContainerRequest { container_id: busy.clone(), timeout: 0 })
        .await
        .unwrap();
    assert_eq!(
        list(ContainerStatsFilter::default()).await,
        both,
        "a stopped container stays in the list"
    );
    let stopped = stats(busy.clone()).await.expect("a stopped container has stats");
    assert_eq!(stopped.attributes.unwrap().id, busy);
    assert_eq!(
        stopped.cpu.unwrap().usage_nano_cores.map(|v| v.value).unwrap_or_default(),
        0,
        "no usage once stopped"
    );
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_have_stats_from_the_moment_they_are_created_or_started() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "fresh-stats")).await;
    let image = pod.image.clone();
    let mut rt = pod.cri.runtime.clone();
    let mut created = Vec::new();
    for name in ["one", "two", "three"] {
        created.push(pod.create(labelled(&image, name, "sleep 1000", "fresh")).await.unwrap());
    }
    created.sort();
    let by_label = ContainerStatsFilter {
        label_selector: [("role".to_string(), "fresh".to_string())].into(),
        ..Default::default()
    };
    let listed = rt
        .list_container_stats(ListContainerStatsRequest { filter: Some(by_label) })
        .await
        .unwrap()
        .into_inner()
        .stats;
    let mut ids: Vec<String> = listed.iter().map(|s| s.attributes.clone().unwrap().id).collect();
    ids.sort();
    assert_eq!(ids, created, "created containers are listed at once");
    assert!(
        listed.iter().all(|s| s.cpu.as_ref().is_some_and(|c| c.timestamp > 0)),
        "with a timestamped CPU reading: {listed:?}"
    );

    // Started, and asked at once: read on demand, before any sampler round could see it.
    let first = created[0].clone();
    rt.start_container(StartContainerRequest { container_id: first.clone() }).await.unwrap();
    let s = rt
        .container_stats(ContainerStatsRequest { container_id: first.clone() })
        .await
        .expect("stats right after start")
        .into_inner()
        .stats
        .unwrap();
    assert!(
        s.memory.unwrap().usage_bytes.map(|v| v.value).unwrap_or_default() > 0,
        "the running container's cgroup was read"
    );
    let only = ContainerStatsFilter { id: first.clone(), ..Default::default() };
    let listed = rt
        .list_container_stats(ListContainerStatsRequest { filter: Some(only) })
        .await
        .unwrap()
        .into_inner()
        .stats;
    assert_eq!(listed.len(), 1, "{listed:?}");
    pod.remove().await;
    node.finish();
}
