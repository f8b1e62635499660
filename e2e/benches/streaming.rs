//! ExecSync latency (p50, p99) and port-forward throughput: 100 MB from a pod through SPDY/3.1
//! (the Go spdystream peer) and through WebSocket. Release build, a private containerd.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench streaming

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::percentile::millis;
use e2e::spdy_go;
use e2e::websocket_client::connect;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

const EXECS: usize = 100;
const BYTES: u64 = 100_000_000;
const PORT: u16 = 9000;
const ROUNDS: usize = 3;
const GET: &str = "GET /big HTTP/1.0\r\n\r\n";

async fn forward_url(pod: &mut Pod) -> String {
    let req = PortForwardRequest { pod_sandbox_id: pod.id.clone(), port: vec![i32::from(PORT)] };
    pod.cri.runtime.port_forward(req).await.unwrap().into_inner().url
}

async fn websocket_count(url: &str) -> u64 {
    let mut ws = connect(&format!("{url}?ports={PORT}"), "portforward.k8s.io").await.unwrap();
    e2e::websocket_client::send(&mut ws, 0, GET.as_bytes()).await;
    let mut n = 0u64;
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Binary(d) = m {
            if d.first() == Some(&0) {
                n += d.len() as u64 - 1;
            }
        }
    }
    n - 2 // the port number that starts the data channel
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let node = Node::start(NodeOptions { registry: true, ..Default::default() });
        node.write_cni_config();
        node.wait_ready().await;
        spdy_go::client_binary();
        let mut pod = Pod::start(&node, pod_config(&node, "bench")).await;
        let image = pod.image.clone();
        let id = pod.run(shell(&image, "app", "sleep 100000")).await;
        let server = format!("mkdir -p /tmp/www && head -c {BYTES} /dev/zero > /tmp/www/big && exec httpd -f -p 127.0.0.1:{PORT} -h /tmp/www");
        pod.run(shell(&image, "source", &server)).await;
        println!("streaming: release build, 2 cores");

        let mut took = Vec::new();
        for _ in 0..EXECS {
            let req = ExecSyncRequest { container_id: id.clone(), cmd: vec!["true".into()], timeout: 10 };
            let t0 = Instant::now();
            pod.cri.runtime.exec_sync(req).await.unwrap();
            took.push(t0.elapsed());
        }
        println!("  ExecSync `true`          p50 {:6.1} ms   p99 {:6.1} ms   (n={EXECS})", millis(&took, 0.5), millis(&took, 0.99));

        // httpd writes its 100 MB file first.
        tokio::time::sleep(Duration::from_secs(2)).await;
        for transport in ["SPDY/3.1", "WebSocket"] {
            let mut rates = Vec::new();
            for _ in 0..ROUNDS {
                let url = forward_url(&mut pod).await;
                let t0 = Instant::now();
                let n = if transport == "WebSocket" {
                    websocket_count(&url).await
                } else {
                    tokio::task::spawn_blocking(move || spdy_go::forward_count(&url, PORT, GET)).await.unwrap().unwrap()
                };
                let secs = t0.elapsed().as_secs_f64();
                assert!(n > BYTES && n < BYTES + 1024, "{transport}: the whole file and its headers, got {n}");
                rates.push(n as f64 / 1e6 / secs);
            }
            rates.sort_by(|a, b| a.total_cmp(b));
            println!("  port-forward 100 MB over {transport:<10} median {:6.1} MB/s (rounds: {:?})", rates[rates.len() / 2], rates.iter().map(|r| r.round()).collect::<Vec<_>>());
        }
        pod.remove().await;
        node.finish();
    });
}
