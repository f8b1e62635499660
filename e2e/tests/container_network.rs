//! Containers share their pod's network: one in the same pod reaches a server over localhost,
//! one in another pod reaches it at the pod's IP (bridge network, ipMasq off).

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

/// Tries `nc` to `host:8080` up to `attempts` times, 100 ms apart (the server may still be
/// starting).
fn client(image: &str, name: &str, host: &str, attempts: u32) -> ContainerConfig {
    let script = format!("i=0; while [ $i -lt {attempts} ]; do nc -w 2 {host} 8080 </dev/null && exit 0; i=$((i+1)); sleep 0.1; done; exit 1");
    shell(image, name, &script)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_reach_each_other_over_localhost_and_across_pods() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut alpha = Pod::start(&node, pod_config(&node, "alpha")).await;
    let image = alpha.image.clone();
    // Each connection is answered with the pod's hostname.
    alpha.run(shell(&image, "server", "exec nc -ll -p 8080 -e hostname")).await;

    let (s, out) = alpha.output_of(&node, client(&image, "local", "127.0.0.1", 50), 1).await;
    assert_eq!(
        (s.exit_code, out.as_slice()),
        (0, &["alpha-host".to_string()][..]),
        "over localhost in the pod"
    );

    let req = PodSandboxStatusRequest { pod_sandbox_id: alpha.id.clone(), verbose: false };
    let ip = alpha
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
    let mut beta = Pod::start(&node, pod_config(&node, "beta")).await;
    let (s, out) = beta.output_of(&node, client(&image, "remote", &ip, 50), 1).await;
    assert_eq!(
        (s.exit_code, out.as_slice()),
        (0, &["alpha-host".to_string()][..]),
        "from another pod to {ip}"
    );
    let (s, _) = beta.output_of(&node, client(&image, "not-here", "127.0.0.1", 1), 0).await;
    assert_ne!(s.exit_code, 0, "beta's localhost is its own: nothing listens there");
    beta.remove().await;
    alpha.remove().await;
    node.finish();
}
