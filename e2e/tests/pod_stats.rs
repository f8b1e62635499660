//! PodSandboxStats and ListPodSandboxStats: a pod's network counters (read in its namespace)
//! rise with traffic from another pod, its containers' stats are listed in it, the filters
//! work, and an unknown pod is NotFound.

use std::time::Duration;

use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use k8s_cri::v1::*;
use tonic::Code;

type Runtime = k8s_cri::v1::runtime_service_client::RuntimeServiceClient<tonic::transport::Channel>;

/// The pod's received bytes and stats, once the sampler has read its container.
async fn rx_bytes(mut rt: Runtime, pod_id: String) -> Option<(u64, PodSandboxStats)> {
    let req = PodSandboxStatsRequest { pod_sandbox_id: pod_id };
    let stats = rt.pod_sandbox_stats(req).await.unwrap().into_inner().stats.unwrap();
    if stats.linux.as_ref()?.containers.is_empty() {
        return None;
    }
    let rx = stats.linux.as_ref()?.network.as_ref()?.default_interface.as_ref()?.rx_bytes.as_ref()?.value;
    Some((rx, stats))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_network_counters_rise_with_traffic() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut server = Pod::start(&node, pod_config(&node, "server")).await;
    let image = server.image.clone();
    let script = "mkdir -p /tmp/www && head -c 1000000 /dev/zero > /tmp/www/blob && exec httpd -f -p 8080 -h /tmp/www";
    let httpd = server.run(shell(&image, "httpd", script)).await;
    let (before, _) = e2e::eventually(Duration::from_secs(10), || rx_bytes(server.cri.runtime.clone(), server.id.clone())).await.expect("network counters of the pod");

    let req = PodSandboxStatusRequest { pod_sandbox_id: server.id.clone(), verbose: false };
    let ip = server.cri.runtime.pod_sandbox_status(req).await.unwrap().into_inner().status.unwrap().network.unwrap().ip;
    let mut client = Pod::start(&node, pod_config(&node, "client")).await;
    let fetch = format!("i=0; while [ $i -lt 50 ]; do wget -q -O /dev/null http://{ip}:8080/blob && exit 0; i=$((i+1)); sleep 0.1; done; exit 1");
    let (s, _) = client.output_of(&node, shell(&image, "fetch", &fetch), 0).await;
    assert_eq!(s.exit_code, 0, "the client fetched the blob");

    let (after, stats) = e2e::eventually(Duration::from_secs(5), || rx_bytes(server.cri.runtime.clone(), server.id.clone())).await.unwrap();
    let linux = stats.linux.unwrap();
    let tx = linux.network.unwrap().default_interface.unwrap().tx_bytes.unwrap().value;
    assert!(tx >= 1_000_000, "the megabyte went out of the server pod: tx {tx}");
    assert!(after > before, "requests came in: rx {before} -> {after}");
    let ids: Vec<String> = linux.containers.iter().map(|c| c.attributes.as_ref().unwrap().id.clone()).collect();
    let the_server = std::slice::from_ref(&httpd);
    assert_eq!(ids, the_server, "its container's stats are in the pod's");
    assert!(linux.memory.unwrap().working_set_bytes.unwrap().value > 0);

    let list = |f: PodSandboxStatsFilter| {
        let mut rt = server.cri.runtime.clone();
        async move {
            let reply = rt.list_pod_sandbox_stats(ListPodSandboxStatsRequest { filter: Some(f) }).await.unwrap().into_inner();
            reply.stats.into_iter().map(|s| s.attributes.unwrap().id).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(PodSandboxStatsFilter::default()).await.len(), 2);
    assert_eq!(list(PodSandboxStatsFilter { id: server.id[..10].into(), ..Default::default() }).await, std::slice::from_ref(&server.id));
    let err = server.cri.runtime.pod_sandbox_stats(PodSandboxStatsRequest { pod_sandbox_id: "nope".into() }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    client.remove().await;
    server.remove().await;
    node.finish();
}
