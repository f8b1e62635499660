//! Exec over SPDY/3.1 against an independent Go peer (Debian's moby/spdystream): both output
//! streams and the v4 exit Status, stdin echoed back and closed, a tty with resize, the v2
//! protocol's plain error text, input
//! that ends empty, and 20 sessions at once.

use cricket::api::v1::*;
use e2e::spdy_go;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_over_spdy_with_the_go_peer() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "spdy")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let rt = &mut pod.cri.runtime;
    spdy_go::client_binary();

    let url = rt
        .exec(exec(&id, "echo out; echo err >&2; exit 3", |r| r.stderr = true))
        .await
        .unwrap()
        .into_inner()
        .url;
    let got = tokio::task::spawn_blocking(move || spdy_go::exec(&url, &["-stderr"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got["stdout"].as_slice(), got["stderr"].as_slice()),
        (&b"out\n"[..], &b"err\n"[..])
    );
    let status: serde_json::Value = serde_json::from_slice(&got["error"]).unwrap();
    assert_eq!(
        (status["reason"].as_str(), status["details"]["causes"][0]["message"].as_str()),
        (Some("NonZeroExitCode"), Some("3"))
    );

    let url = rt.exec(exec(&id, "cat", |r| r.stdin = true)).await.unwrap().into_inner().url;
    let got = tokio::task::spawn_blocking(move || spdy_go::exec(&url, &["-stdin", "hello spdy\n"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["stdout"], b"hello spdy\n", "stdin came back, and its close ended cat");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&got["error"]).unwrap()["status"],
        "Success"
    );

    let url = rt
        .exec(exec(&id, "read go; stty size", |r| {
            r.stdin = true;
            r.tty = true
        }))
        .await
        .unwrap()
        .into_inner()
        .url;
    let got = tokio::task::spawn_blocking(move || {
        spdy_go::exec(&url, &["-tty", "-resize", "111x33", "-stdin", "go\r"])
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&got["stdout"]).contains("33 111"),
        "{:?}",
        String::from_utf8_lossy(&got["stdout"])
    );

    let url = rt.exec(exec(&id, "exit 5", |_| {})).await.unwrap().into_inner().url;
    let got = tokio::task::spawn_blocking(move || {
        spdy_go::exec(&url, &["-protocol", "v2.channel.k8s.io"])
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&got["error"]).contains("exit status 5"),
        "v2: a plain message"
    );

    // 20 MiB through `cat`: byte-exact (digest and length).
    let payload: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    let file = node.ws.run("payload.bin");
    std::fs::write(&file, &payload).unwrap();
    let url = rt.exec(exec(&id, "cat", |r| r.stdin = true)).await.unwrap().into_inner().url;
    let path = file.display().to_string();
    let got = tokio::task::spawn_blocking(move || {
        spdy_go::exec(&url, &["-stdin-file", &path, "-digest"])
    })
    .await
    .unwrap()
    .unwrap();
    let want = format!("{} {}", sha256_hex(&payload), payload.len());
    assert_eq!(String::from_utf8_lossy(&got["stdout-sha256"]), want);

    // An input that ends without a byte still ends the process.
    let url =
        rt.exec(exec(&id, "cat; echo done", |r| r.stdin = true)).await.unwrap().into_inner().url;
    let got =
        tokio::task::spawn_blocking(move || spdy_go::exec(&url, &["-stdin-file", "/dev/null"]))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(got["stdout"], b"done\n");

    // 20 sessions at once, each echoing its own input.
    let mut urls = Vec::new();
    for _ in 0..20 {
        urls.push(rt.exec(exec(&id, "cat", |r| r.stdin = true)).await.unwrap().into_inner().url);
    }
    let runs = urls.into_iter().enumerate().map(|(i, u)| {
        tokio::task::spawn_blocking(move || spdy_go::exec(&u, &["-stdin", &format!("{i}\n")]))
    });
    for (i, got) in futures::future::join_all(runs).await.into_iter().enumerate() {
        assert_eq!(got.unwrap().unwrap()["stdout"], format!("{i}\n").into_bytes());
    }
    pod.remove().await;
    node.finish();
}

fn sha256_hex(data: &[u8]) -> String {
    containerd_bridge::sha256_digest(data).trim_start_matches("sha256:").to_string()
}
