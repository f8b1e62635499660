//! Port-forward to a busybox httpd: over SPDY/3.1 with the Go spdystream peer (a pod with
//! its own network namespace, several connections at once, a port where nothing listens, a
//! host-network pod) and over WebSocket with each subprotocol kubelet's streaming library
//! accepts: `v4.channel.k8s.io`, `v4.base64.channel.k8s.io` and none.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::spdy_go;
use e2e::websocket_client::{
    collect, collect_base64, connect, connect_offering, send, send_base64,
};
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

const GET: &str = "GET / HTTP/1.0\r\n\r\n";

fn httpd(port: u16) -> String {
    format!("mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:{port} -h /tmp/www")
}

/// Forwards through a fresh URL until the server answers (it may still be starting).
async fn fetch(pod: &mut Pod, port: u16, connections: usize) -> Vec<(Vec<u8>, String)> {
    let mut last = Vec::new();
    for _ in 0..50 {
        let req =
            PortForwardRequest { pod_sandbox_id: pod.id.clone(), port: vec![i32::from(port)] };
        let url = pod.cri.runtime.port_forward(req).await.unwrap().into_inner().url;
        last = tokio::task::spawn_blocking(move || spdy_go::forward(&url, port, GET, connections))
            .await
            .unwrap()
            .unwrap();
        if last.iter().all(|(data, _)| String::from_utf8_lossy(data).contains("hello-from-pod")) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_over_spdy_to_pods_and_host_network_pods() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    spdy_go::client_binary();
    let mut pod = Pod::start(&node, pod_config(&node, "web")).await;
    pod.run(shell(&pod.image.clone(), "httpd", &httpd(8080))).await;

    let got = fetch(&mut pod, 8080, 1).await;
    let text = String::from_utf8_lossy(&got[0].0).to_string();
    assert!(
        text.starts_with("HTTP/1.") && text.contains("200") && text.contains("hello-from-pod"),
        "{text:?}"
    );
    assert_eq!(got[0].1, "", "no error");

    let many = fetch(&mut pod, 8080, 10).await;
    assert!(
        many.iter().all(|(d, _)| String::from_utf8_lossy(d).contains("hello-from-pod")),
        "10 connections at once"
    );

    let req = PortForwardRequest { pod_sandbox_id: pod.id.clone(), port: vec![8081] };
    let url = pod.cri.runtime.port_forward(req).await.unwrap().into_inner().url;
    let got = tokio::task::spawn_blocking(move || spdy_go::forward(&url, 8081, GET, 1))
        .await
        .unwrap()
        .unwrap();
    assert!(got[0].0.is_empty() && got[0].1.contains("8081"), "nothing listens: {:?}", got[0].1);

    // A host-network pod: the node's own localhost.
    let port = 20000 + (u16::from_str_radix(&node.ws.id[..3], 16).unwrap_or(0) % 10000);
    let mut host = pod_config(&node, "hostweb");
    host.linux
        .get_or_insert_with(Default::default)
        .security_context
        .get_or_insert_with(Default::default)
        .namespace_options = Some(NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Container as i32,
        ..Default::default()
    });
    let mut host_pod = Pod::start(&node, host).await;
    host_pod.run(shell(&host_pod.image.clone(), "httpd", &httpd(port))).await;
    let got = fetch(&mut host_pod, port, 1).await;
    assert!(
        String::from_utf8_lossy(&got[0].0).contains("hello-from-pod"),
        "host network: {:?}",
        got[0]
    );
    host_pod.remove().await;

    // Over WebSocket: the port on both channels first, then the relay.
    let req = PortForwardRequest { pod_sandbox_id: pod.id.clone(), port: vec![8080] };
    let url = pod.cri.runtime.port_forward(req).await.unwrap().into_inner().url;
    let mut ws = connect(&format!("{url}?ports=8080"), "portforward.k8s.io").await.unwrap();
    send(&mut ws, 0, GET.as_bytes()).await;
    let got = tokio::time::timeout(Duration::from_secs(20), collect(&mut ws)).await.unwrap();
    let data = &got[&0];
    assert_eq!(&data[..2], &8080u16.to_le_bytes(), "the data channel starts with the port");
    assert_eq!(&got[&1][..2], &8080u16.to_le_bytes(), "so does the error channel");
    assert!(
        String::from_utf8_lossy(&data[2..]).contains("hello-from-pod"),
        "{:?}",
        String::from_utf8_lossy(data)
    );
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_over_websocket_with_kubelets_subprotocols() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "wsweb")).await;
    // A port nothing listens on: the error channel says so, and the session ends with a
    // normal close even though the client's input arrived and was never forwarded.
    for _ in 0..20 {
        let req = PortForwardRequest { pod_sandbox_id: pod.id.clone(), port: vec![9] };
        let url = pod.cri.runtime.port_forward(req).await.unwrap().into_inner().url;
        let (mut ws, _) =
            connect_offering(&format!("{url}?ports=9"), Some("v4.channel.k8s.io")).await.unwrap();
        send(&mut ws, 0, GET.as_bytes()).await;
        let got = tokio::time::timeout(Duration::from_secs(20), collect(&mut ws)).await.unwrap();
        let error = String::from_utf8_lossy(&got[&1][2..]).to_string();
        assert!(error.contains("error forwarding port 9"), "{error:?}");
    }
    pod.run(shell(&pod.image.clone(), "httpd", &httpd(8080))).await;
    for (offer, answer, base64) in [
        (Some("v4.channel.k8s.io"), "v4.channel.k8s.io", false),
        (Some("v4.base64.channel.k8s.io"), "v4.base64.channel.k8s.io", true),
        (None, "", false),
    ] {
        let mut last = String::new();
        for _ in 0..50 {
            let req = PortForwardRequest { pod_sandbox_id: pod.id.clone(), port: vec![8080] };
            let url = pod.cri.runtime.port_forward(req).await.unwrap().into_inner().url;
            let (mut ws, chosen) = connect_offering(&format!("{url}?ports=8080"), offer)
                .await
                .unwrap_or_else(|e| panic!("{offer:?}: {e}"));
            assert_eq!(chosen, answer, "the subprotocol answered to {offer:?}");
            let got = if base64 {
                send_base64(&mut ws, 0, GET.as_bytes()).await;
                tokio::time::timeout(Duration::from_secs(20), collect_base64(&mut ws))
                    .await
                    .unwrap()
            } else {
                send(&mut ws, 0, GET.as_bytes()).await;
                tokio::time::timeout(Duration::from_secs(20), collect(&mut ws)).await.unwrap()
            };
            let (data, error) = (
                got.get(&0).cloned().unwrap_or_default(),
                got.get(&1).cloned().unwrap_or_default(),
            );
            assert_eq!(
                &data[..2],
                &8080u16.to_le_bytes(),
                "{offer:?}: the data channel starts with the port"
            );
            assert_eq!(&error[..2], &8080u16.to_le_bytes(), "{offer:?}: so does the error channel");
            last = String::from_utf8_lossy(&data[2..]).to_string();
            if last.contains("hello-from-pod") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await; // httpd may still be starting
        }
        assert!(last.contains("hello-from-pod"), "{offer:?}: {last:?}");
    }
    pod.remove().await;
    node.finish();
}
