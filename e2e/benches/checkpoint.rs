//! CheckpointContainer and a restore (CreateContainer from the archive, then StartContainer)
//! of a small shell counter: latency (p50, max) and the archive's size. Release build, a
//! private containerd, CRIU from manifests/criu.sh.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench checkpoint

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

const ROUNDS: usize = 10;
const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.2; done";

fn ms(v: &mut [Duration]) -> (f64, f64) {
    v.sort();
    (v[v.len() / 2].as_secs_f64() * 1e3, v[v.len() - 1].as_secs_f64() * 1e3)
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let node = Node::start(NodeOptions { registry: true, ..Default::default() });
        node.write_cni_config();
        node.wait_ready().await;
        let mut pod = Pod::start(&node, pod_config(&node, "bench")).await;
        let image = pod.image.clone();
        let original = pod.run(shell(&image, "counter", COUNTER)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (mut dumps, mut restores, mut size) = (Vec::new(), Vec::new(), 0);
        for round in 0..ROUNDS {
            let archive = node.ws.run(&format!("bench-{round}.tar"));
            let req = CheckpointContainerRequest {
                container_id: original.clone(),
                location: archive.display().to_string(),
                timeout: 60,
            };
            let t0 = Instant::now();
            pod.cri.runtime.checkpoint_container(req).await.unwrap();
            dumps.push(t0.elapsed());
            size = std::fs::metadata(&archive).unwrap().len();
            let name = format!("restored-{round}");
            let t0 = Instant::now();
            let restored = pod.run(shell(&archive.display().to_string(), &name, "true")).await;
            restores.push(t0.elapsed());
            let stop = StopContainerRequest { container_id: restored.clone(), timeout: 0 };
            pod.cri.runtime.stop_container(stop).await.unwrap();
            let remove = RemoveContainerRequest { container_id: restored };
            pod.cri.runtime.remove_container(remove).await.unwrap();
            let _ = std::fs::remove_file(&archive);
        }
        let ((dump_p50, dump_max), (restore_p50, restore_max)) = (ms(&mut dumps), ms(&mut restores));
        println!("checkpoint: release build, 2 cores, a busybox shell counter, {ROUNDS} rounds");
        println!("  CheckpointContainer            p50 {dump_p50:6.1} ms   max {dump_max:6.1} ms   archive {} KiB", size / 1024);
        println!("  restore (Create + Start)       p50 {restore_p50:6.1} ms   max {restore_max:6.1} ms");
        pod.remove().await;
        node.finish();
    });
}
