//! Attach to a container's own process: two attachers at once see the same output and one of
//! them feeds stdin (WebSocket); attach over SPDY with the Go peer ends with the container;
//! a `stdin_once` container gets end of input when its attacher's input ends; a tty's size.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::spdy_go;
use e2e::websocket_client::{collect, connect, send};
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

fn attach(id: &str, stdin: bool) -> AttachRequest {
    AttachRequest { container_id: id.into(), stdin, stdout: true, ..Default::default() }
}

/// Reads stdout (channel 1) frames until `want` has been seen.
async fn read_until(ws: &mut e2e::websocket_client::Ws, want: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(want) {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(d)))) if d.first() == Some(&1) => {
                seen.push_str(&String::from_utf8_lossy(&d[1..]))
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("waiting for {want:?}, saw {seen:?}, then {other:?}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_over_websocket_and_spdy() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    spdy_go::client_binary();
    let mut pod = Pod::start(&node, pod_config(&node, "attach")).await;
    let image = pod.image.clone();

    // Two attachers; the first one's input reaches the process, both see its answer.
    let mut c = shell(&image, "echoer", "while read l; do echo got:$l; done");
    c.stdin = true;
    let id = pod.run(c).await;
    let url_a = pod.cri.runtime.attach(attach(&id, true)).await.unwrap().into_inner().url;
    let url_b = pod.cri.runtime.attach(attach(&id, false)).await.unwrap().into_inner().url;
    let mut a = connect(&url_a, "v5.channel.k8s.io").await.unwrap();
    let mut b = connect(&url_b, "v5.channel.k8s.io").await.unwrap();
    // An attacher sees output from when its session is attached: say it until b has seen it.
    let mut seen_by_b = false;
    for _ in 0..20 {
        send(&mut a, 0, b"one\n").await;
        if tokio::time::timeout(Duration::from_millis(500), read_until(&mut b, "got:one"))
            .await
            .is_ok()
        {
            seen_by_b = true;
            break;
        }
    }
    assert!(seen_by_b, "the second attacher sees what the first one's input caused");
    assert!(read_until(&mut a, "got:one").await.contains("got:one"), "and so does the first");
    drop((a, b));

    // stdin_once: the attacher's end of input is the process's.
    // Output only after the end of input, when the attacher is surely attached.
    let mut c = shell(&image, "once", "cat > /tmp/in; cat /tmp/in; echo cat-ended");
    c.stdin = true;
    c.stdin_once = true;
    let once = pod.run(c).await;
    let url = pod.cri.runtime.attach(attach(&once, true)).await.unwrap().into_inner().url;
    let mut ws = connect(&url, "v5.channel.k8s.io").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut ws, 0, b"x\n").await;
    send(&mut ws, 255, &[0]).await;
    let got = tokio::time::timeout(Duration::from_secs(20), collect(&mut ws))
        .await
        .expect("the session ends with the container");
    let text = String::from_utf8_lossy(&got[&1]).to_string();
    assert!(text.contains('x') && text.contains("cat-ended"), "{text:?}");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&got[&3]).unwrap()["status"], "Success");
    assert_eq!(pod.wait_exited(&node, &once).await.exit_code, 0);

    // SPDY: attach until the container's end.
    let late = pod.run(shell(&image, "late", "sleep 2; echo late; exit 0")).await;
    let url = pod.cri.runtime.attach(attach(&late, false)).await.unwrap().into_inner().url;
    let got = tokio::task::spawn_blocking(move || spdy_go::exec(&url, &[])).await.unwrap().unwrap();
    assert_eq!(got["stdout"], b"late\n");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&got["error"]).unwrap()["status"],
        "Success"
    );

    // A tty: resize through attach, and the shell sees it.
    let mut c = shell(&image, "term", "while read l; do stty size; done");
    c.stdin = true;
    c.tty = true;
    let term = pod.run(c).await;
    let mut req = attach(&term, true);
    req.tty = true;
    let url = pod.cri.runtime.attach(req).await.unwrap().into_inner().url;
    let mut ws = connect(&url, "v5.channel.k8s.io").await.unwrap();
    send(&mut ws, 4, br#"{"Width":77,"Height":22}"#).await;
    // The size is applied next to the input: ask until the answer has it.
    let mut sized = false;
    for _ in 0..20 {
        send(&mut ws, 0, b"\r").await;
        if tokio::time::timeout(Duration::from_millis(500), read_until(&mut ws, "22 77"))
            .await
            .is_ok()
        {
            sized = true;
            break;
        }
    }
    assert!(sized, "the terminal took the attacher's size");
    pod.remove().await;
    node.finish();
}
