//! ListContainerStats with 100 running containers: latency (p50, p99) and cricket's CPU time per
//! call, next to what the background sampler costs per second with the same containers.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench stats

use std::time::{Duration, Instant};

use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use k8s_cri::v1::*;

const CONTAINERS: usize = 100;
const PODS: usize = 10;
const CALLS: usize = 2000;

/// cricket's CPU time so far, in nanoseconds: the sum over its threads of schedstat's first
/// field (time on a CPU).
fn cpu_time(pid: i32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut node = Node::start(NodeOptions { registry: true, ..Default::default() });
        node.write_cni_config();
        node.wait_ready().await;
        let mut pods = Vec::new();
        for p in 0..PODS {
            let mut pod = Pod::start(&node, pod_config(&node, &format!("p{p}"))).await;
            let image = pod.image.clone();
            for c in 0..CONTAINERS / PODS {
                pod.run(shell(&image, &format!("c{c}"), "sleep 100000")).await;
            }
            pods.push(pod);
        }
        let pid = node.cricket().pid();
        let mut cri = node.client().await;
        // Let the sampler see every container (cgroups, then writable layers).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let idle0 = cpu_time(pid);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let sampler_per_s = (cpu_time(pid) - idle0) / 10;

        let mut took = Vec::new();
        let cpu0 = cpu_time(pid);
        let t0 = Instant::now();
        for _ in 0..CALLS {
            let t = Instant::now();
            let n = cri.runtime.list_container_stats(ListContainerStatsRequest { filter: None }).await.unwrap().into_inner().stats.len();
            took.push(t.elapsed());
            assert_eq!(n, CONTAINERS);
        }
        let wall = t0.elapsed();
        let cpu = cpu_time(pid) - cpu0;
        // What the sampler used meanwhile is not the calls' cost.
        let calls_cpu = cpu.saturating_sub(sampler_per_s.mul_f64(wall.as_secs_f64()));
        took.sort();
        let at = |p: f64| took[((took.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
        println!("stats: {CONTAINERS} running containers in {PODS} pods, release build, 2 cores");
        println!("  ListContainerStats       p50 {:6.2} ms   p99 {:6.2} ms   (n={CALLS})", at(0.5), at(0.99));
        println!("  cricket CPU per call     {:6.3} ms (total {:?} over {CALLS} calls, the sampler's share taken out)", calls_cpu.as_secs_f64() * 1e3 / CALLS as f64, cpu);
        println!("  background sampler       {:6.1} ms of CPU per second", sampler_per_s.as_secs_f64() * 1e3);
        for pod in pods {
            pod.remove().await;
        }
        node.finish();
    });
}
