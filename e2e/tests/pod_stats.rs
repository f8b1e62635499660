//! PodSandboxStats and ListPodSandboxStats: a pod's network counters (read in its namespace)
//! rise with traffic from another pod, its containers' stats are listed in it, the filters
//! work, and an unknown pod is NotFound. ListPodSandboxMetrics shows the same traffic under
//! cAdvisor's names, every described metric with its labels.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

type Runtime =
    cricket::api::v1::runtime_service_client::RuntimeServiceClient<tonic::transport::Channel>;

/// The pod's received bytes and stats, once the sampler has read its container.
async fn rx_bytes(mut rt: Runtime, pod_id: String) -> Option<(u64, PodSandboxStats)> {
    let req = PodSandboxStatsRequest { pod_sandbox_id: pod_id };
    let stats = rt.pod_sandbox_stats(req).await.unwrap().into_inner().stats.unwrap();
    if stats.linux.as_ref()?.containers.is_empty() {
        return None;
    }
    let rx = stats
        .linux
        .as_ref()?
        .network
        .as_ref()?
        .default_interface
        .as_ref()?
        .rx_bytes
        .as_ref()?
        .value;
    Some((rx, stats))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_network_counters_rise_with_traffic() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    // The server pod gets a cgroup of its own, as kubelet gives every pod.
    let test_cgroups = e2e::workload::TestCgroups(format!("/cricket-e2e-{}", node.ws.id));
    let pod_cgroup = format!("{}/pod-server", test_cgroups.0);
    let mut config = pod_config(&node, "server");
    config.linux.as_mut().unwrap().cgroup_parent = pod_cgroup.clone();
    let mut server = Pod::start(&node, config).await;
    let image = server.image.clone();
    let script = "mkdir -p /tmp/www && head -c 1000000 /dev/zero > /tmp/www/blob && exec httpd -f -p 8080 -h /tmp/www";
    let httpd = server.run(shell(&image, "httpd", script)).await;
    let (before, _) = e2e::eventually(Duration::from_secs(10), || {
        rx_bytes(server.cri.runtime.clone(), server.id.clone())
    })
    .await
    .expect("network counters of the pod");
    // A container that burns about half a second of CPU and exits: its use stays in the pod's.
    let burn = "i=0; while [ $i -lt 600000 ]; do i=$((i+1)); done";
    let (burnt, _) = server.output_of(&node, shell(&image, "burn", burn), 0).await;
    assert_eq!(burnt.exit_code, 0);

    let req = PodSandboxStatusRequest { pod_sandbox_id: server.id.clone(), verbose: false };
    let ip = server
        .cri
        .runtime
        .pod_sandbox_status(req)
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap()
        .network
        .unwrap()
        .ip;
    let mut client = Pod::start(&node, pod_config(&node, "client")).await;
    let fetch = format!("i=0; while [ $i -lt 50 ]; do wget -q -O /dev/null http://{ip}:8080/blob && exit 0; i=$((i+1)); sleep 0.1; done; exit 1");
    let (s, _) = client.output_of(&node, shell(&image, "fetch", &fetch), 0).await;
    assert_eq!(s.exit_code, 0, "the client fetched the blob");

    let (after, stats) = e2e::eventually(Duration::from_secs(5), || {
        rx_bytes(server.cri.runtime.clone(), server.id.clone())
    })
    .await
    .unwrap();
    let linux = stats.linux.unwrap();
    let tx = linux.network.unwrap().default_interface.unwrap().tx_bytes.unwrap().value;
    assert!(tx >= 1_000_000, "the megabyte went out of the server pod: tx {tx}");
    assert!(after > before, "requests came in: rx {before} -> {after}");
    let ids: Vec<String> =
        linux.containers.iter().map(|c| c.attributes.as_ref().unwrap().id.clone()).collect();
    let the_server = std::slice::from_ref(&httpd);
    assert_eq!(ids, the_server, "its container's stats are in the pod's");
    assert!(linux.memory.unwrap().working_set_bytes.unwrap().value > 0);
    assert!(linux.process.unwrap().process_count.unwrap().value >= 1);
    // Once the sampler has read the pod since the burner ran, the pod's CPU holds it.
    let cpu_of = |stats: &PodSandboxStats| {
        let linux = stats.linux.as_ref().unwrap();
        let httpd = linux.containers[0]
            .cpu
            .as_ref()
            .unwrap()
            .usage_core_nano_seconds
            .as_ref()
            .unwrap()
            .value;
        (linux.cpu.as_ref().unwrap().usage_core_nano_seconds.as_ref().unwrap().value, httpd)
    };
    let burnt_in_pod = e2e::eventually(Duration::from_secs(5), || {
        let rt = server.cri.runtime.clone();
        let id = server.id.clone();
        async move {
            rx_bytes(rt, id)
                .await
                .map(|(_, s)| cpu_of(&s))
                .filter(|(pod, httpd)| *pod >= httpd + 250_000_000)
        }
    })
    .await;
    let (pod_cpu, httpd_cpu) =
        cpu_of(&rx_bytes(server.cri.runtime.clone(), server.id.clone()).await.unwrap().1);
    assert!(
        burnt_in_pod.is_some(),
        "the pod's cgroup holds the exited burner's CPU: pod {pod_cpu} ns, httpd {httpd_cpu} ns"
    );
    check_metrics(server.cri.runtime.clone(), &server.id, &httpd).await;

    let list = |f: PodSandboxStatsFilter| {
        let mut rt = server.cri.runtime.clone();
        async move {
            let reply = rt
                .list_pod_sandbox_stats(ListPodSandboxStatsRequest { filter: Some(f) })
                .await
                .unwrap()
                .into_inner();
            reply.stats.into_iter().map(|s| s.attributes.unwrap().id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(PodSandboxStatsFilter::default()).await.len(), 2);
    assert_eq!(
        list(PodSandboxStatsFilter { id: server.id[..10].into(), ..Default::default() }).await,
        std::slice::from_ref(&server.id)
    );
    let err = server
        .cri
        .runtime
        .pod_sandbox_stats(PodSandboxStatsRequest { pod_sandbox_id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    client.remove().await;
    server.remove().await;
    drop(test_cgroups);
    node.finish();
}

fn value_of<'a>(metrics: &'a [Metric], name: &str, last_label: Option<&str>) -> &'a Metric {
    let found = metrics.iter().find(|m| {
        m.name == name
            && last_label.is_none_or(|l| m.label_values.last().map(String::as_str) == Some(l))
    });
    found.unwrap_or_else(|| {
        panic!("{name} {last_label:?} in {:?}", metrics.iter().map(|m| &m.name).collect::<Vec<_>>())
    })
}

/// The server pod's metrics: its traffic, its httpd's listening socket, and every described
/// metric present once with as many label values as the descriptor has keys.
async fn check_metrics(mut rt: Runtime, pod_id: &str, httpd: &str) {
    let descriptors = rt
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .descriptors;
    assert!(descriptors.len() >= 40, "{}", descriptors.len());
    let all = rt
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await
        .unwrap()
        .into_inner()
        .pod_metrics;
    assert_eq!(all.len(), 2, "both pods");
    let pod = all.iter().find(|p| p.pod_sandbox_id == pod_id).expect("the server pod's metrics");
    let tx = value_of(&pod.metrics, "container_network_transmit_bytes_total", Some("eth0"));
    assert!(tx.value.unwrap().value >= 1_000_000, "the megabyte sent: {tx:?}");
    assert_eq!(&tx.label_values[..2], ["POD", pod_id]);
    assert_eq!(pod.container_metrics.len(), 1);
    let c = &pod.container_metrics[0];
    assert_eq!(c.container_id, httpd);
    let sockets = value_of(&c.metrics, "container_sockets", None);
    assert!(sockets.value.unwrap().value >= 1, "httpd listens: {sockets:?}");
    assert_eq!(&sockets.label_values[..2], ["httpd", httpd]);
    assert!(value_of(&c.metrics, "container_processes", None).value.unwrap().value >= 1);
    let started = value_of(&c.metrics, "container_start_time_seconds", None).value.unwrap().value;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(now - started < 120, "started {started}, now {now}");
    // The size of the writable layer's file system: what `df` says of it, and some inodes free.
    let fs_size = value_of(&c.metrics, "container_fs_limit_bytes", None);
    let fs_inodes = value_of(&c.metrics, "container_fs_inodes_total", None).value.unwrap().value;
    let fs_free = value_of(&c.metrics, "container_fs_inodes_free", None).value.unwrap().value;
    assert!(
        fs_size.value.unwrap().value > 1 << 20
            && fs_inodes > 0
            && fs_free > 0
            && fs_free <= fs_inodes,
        "{fs_size:?} {fs_inodes} {fs_free}"
    );
    assert!(
        fs_size.label_values.last().unwrap().starts_with('/'),
        "the device label is its mount point: {fs_size:?}"
    );
    let limit =
        value_of(&c.metrics, "container_ulimits_soft", Some("max_open_files")).value.unwrap().value;
    assert!(limit > 0 && limit < u64::MAX, "{limit}");
    let emitted: Vec<&Metric> = pod.metrics.iter().chain(c.metrics.iter()).collect();
    // Pressure stalls come from cgroup v2's *.pressure files; a v1 (or hybrid) host has none.
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    for d in descriptors.iter().filter(|d| v2 || !d.name.contains("_pressure_")) {
        let of_it: Vec<_> = emitted.iter().filter(|m| m.name == d.name).collect();
        assert!(!of_it.is_empty(), "{} is reported", d.name);
        assert!(
            of_it.iter().all(|m| m.label_values.len() == d.label_keys.len()),
            "{}: labels {:?}",
            d.name,
            d.label_keys
        );
    }
    assert!(
        emitted.iter().all(|m| descriptors.iter().any(|d| d.name == m.name)),
        "every metric is described"
    );
}
