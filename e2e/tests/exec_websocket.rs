//! Exec over the WebSocket transport: both output streams and the v4/v5 exit Status, stdin
//! echoed back and closed with v5's close channel, a tty with resize, the base64 variant,
//! 20 sessions at once, and a subprotocol cricket does not speak.

use std::time::Duration;

use base64::Engine;
use cricket::api::v1::*;
use e2e::websocket_client::{collect, connect, send};
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn exec(id: &str, script: &str, f: impl FnOnce(&mut ExecRequest)) -> ExecRequest {
    let mut r = ExecRequest {
        container_id: id.into(),
        cmd: vec!["/bin/sh".into(), "-c".into(), script.into()],
        stdout: true,
        ..Default::default()
    };
    f(&mut r);
    r
}

fn status(raw: &[u8]) -> serde_json::Value {
    serde_json::from_slice(raw).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(raw)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_over_websocket() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "ws")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let rt = &mut pod.cri.runtime;
    let limit = Duration::from_secs(20);

    // Both streams and a non-zero exit, v5.
    let url = rt
        .exec(exec(&id, "echo out; echo err >&2; exit 3", |r| r.stderr = true))
        .await
        .unwrap()
        .into_inner()
        .url;
    let mut ws = connect(&url, "v5.channel.k8s.io").await.unwrap();
    let got = tokio::time::timeout(limit, collect(&mut ws)).await.unwrap();
    assert_eq!((got[&1].as_slice(), got[&2].as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    let end = status(&got[&3]);
    assert_eq!(
        (end["status"].as_str(), end["reason"].as_str()),
        (Some("Failure"), Some("NonZeroExitCode"))
    );
    assert_eq!(end["details"]["causes"][0]["message"], "3");

    // stdin echoed back by cat; v5's close channel ends it; then Success.
    let url = rt.exec(exec(&id, "cat", |r| r.stdin = true)).await.unwrap().into_inner().url;
    let mut ws = connect(&url, "v5.channel.k8s.io").await.unwrap();
    send(&mut ws, 0, b"hello\n").await;
    send(&mut ws, 255, &[0]).await;
    let got = tokio::time::timeout(limit, collect(&mut ws)).await.unwrap();
    assert_eq!(
        got.get(&1).map(Vec::as_slice),
        Some(&b"hello\n"[..]),
        "error channel: {}",
        String::from_utf8_lossy(got.get(&3).map(Vec::as_slice).unwrap_or_default())
    );
    assert_eq!(status(&got[&3])["status"], "Success");

    // A tty with a resize: the size reaches the terminal (v4).
    // The size is applied next to the input: ask until the answer has it, then end.
    let script = "while read l; do [ \"$l\" = end ] && exit 0; stty size; done";
    let url = rt
        .exec(exec(&id, script, |r| {
            r.stdin = true;
            r.tty = true
        }))
        .await
        .unwrap()
        .into_inner()
        .url;
    let mut ws = connect(&url, "v4.channel.k8s.io").await.unwrap();
    send(&mut ws, 4, br#"{"Width":123,"Height":45}"#).await;
    let mut seen = String::new();
    for _ in 0..20 {
        send(&mut ws, 0, b"\r").await;
        while let Ok(Some(Ok(Message::Binary(d)))) =
            tokio::time::timeout(Duration::from_millis(300), ws.next()).await
        {
            if d.first() == Some(&1) {
                seen.push_str(&String::from_utf8_lossy(&d[1..]));
            }
        }
        if seen.contains("45 123") {
            break;
        }
    }
    send(&mut ws, 0, b"end\r").await;
    let mut got = tokio::time::timeout(limit, collect(&mut ws)).await.unwrap();
    got.entry(1).or_default().splice(0..0, seen.into_bytes());
    let text =
        String::from_utf8_lossy(got.get(&1).unwrap_or_else(|| panic!("{got:?}"))).to_string();
    assert!(text.contains("45 123"), "rows and columns as sent: {text:?}");
    assert!(!got.contains_key(&2), "a tty has no stderr");

    // base64 variant: text frames, channel as a digit.
    let url = rt.exec(exec(&id, "echo b64", |_| {})).await.unwrap().into_inner().url;
    let mut ws = connect(&url, "v4.base64.channel.k8s.io").await.unwrap();
    let mut texts = Vec::new();
    while let Some(Ok(m)) = tokio::time::timeout(limit, ws.next()).await.unwrap() {
        if let Message::Text(t) = m {
            texts.push(t.to_string());
        }
    }
    let stdout: Vec<u8> = texts
        .iter()
        .filter_map(|t| t.strip_prefix('1'))
        .flat_map(|b| base64::engine::general_purpose::STANDARD.decode(b).unwrap())
        .collect();
    assert_eq!(stdout, b"b64\n");

    // 20 at once.
    let mut urls = Vec::new();
    for i in 0..20 {
        urls.push(rt.exec(exec(&id, &format!("echo {i}"), |_| {})).await.unwrap().into_inner().url);
    }
    let sessions = urls.iter().map(|u| async move {
        let mut ws = connect(u, "v5.channel.k8s.io").await.unwrap();
        tokio::time::timeout(limit, collect(&mut ws)).await.unwrap()
    });
    for (i, got) in futures::future::join_all(sessions).await.into_iter().enumerate() {
        assert_eq!(got[&1], format!("{i}\n").into_bytes());
    }

    // 20 MiB through `cat`, sent while the output is read: byte-exact.
    let url = rt.exec(exec(&id, "cat", |r| r.stdin = true)).await.unwrap().into_inner().url;
    let ws = connect(&url, "v5.channel.k8s.io").await.unwrap();
    let (mut sink, mut stream) = ws.split();
    let payload: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    let sent = payload.clone();
    let sender = tokio::spawn(async move {
        for chunk in sent.chunks(32 * 1024) {
            let mut framed = vec![0u8];
            framed.extend_from_slice(chunk);
            sink.send(Message::Binary(framed.into())).await.unwrap();
        }
        sink.send(Message::Binary(vec![255u8, 0].into())).await.unwrap();
        sink
    });
    let mut echoed = Vec::with_capacity(payload.len());
    let mut end = Vec::new();
    while let Some(Ok(m)) =
        tokio::time::timeout(Duration::from_secs(60), stream.next()).await.unwrap()
    {
        if let Message::Binary(d) = m {
            match d.split_first() {
                Some((1, rest)) => echoed.extend_from_slice(rest),
                Some((3, rest)) => end.extend_from_slice(rest),
                _ => {}
            }
        }
    }
    drop(sender.await.unwrap());
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "20 MiB came back byte-exact");
    assert_eq!(status(&end)["status"], "Success");

    // A subprotocol not spoken: refused, and the token is gone.
    let url = rt.exec(exec(&id, "true", |_| {})).await.unwrap().into_inner().url;
    assert!(connect(&url, "v9.example").await.is_err());
    assert!(connect(&url, "v5.channel.k8s.io").await.is_err(), "a used token is refused");
    pod.remove().await;
    node.finish();
}
