//! ListContainerStats with 100 running containers: latency (p50, p99) and cricket's CPU time per
//! call, next to what the background sampler costs per second with the same containers.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench stats

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

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

/// Latencies of `calls` calls and cricket's CPU time for them, the sampler's share taken out.
struct Measured {
    took: Vec<Duration>,
    cpu_per_call: Duration,
}

impl Measured {
    async fn run<F, Fut>(pid: i32, sampler_per_s: Duration, calls: usize, mut call: F) -> Measured
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut took = Vec::with_capacity(calls);
        let cpu0 = cpu_time(pid);
        let t0 = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            call().await;
            took.push(t.elapsed());
        }
        let cpu = (cpu_time(pid) - cpu0)
            .saturating_sub(sampler_per_s.mul_f64(t0.elapsed().as_secs_f64()));
        took.sort();
        Measured { took, cpu_per_call: cpu / calls as u32 }
    }

    fn print(&self, what: &str) {
        let at = |p: f64| {
            self.took[((self.took.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
        };
        println!(
            "  {what:<24} p50 {:6.2} ms   p99 {:6.2} ms   (n={})   cricket CPU per call {:6.3} ms",
            at(0.5),
            at(0.99),
            self.took.len(),
            self.cpu_per_call.as_secs_f64() * 1e3
        );
    }
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
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
        let cri = node.client().await;
        // Let the sampler see every container (cgroups, then writable layers).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let idle0 = cpu_time(pid);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let sampler_per_s = (cpu_time(pid) - idle0) / 10;

        println!("stats: {CONTAINERS} running containers in {PODS} pods, release build, 2 cores");
        let rt = cri.runtime.clone();
        let list_stats = Measured::run(pid, sampler_per_s, CALLS, || {
            let mut rt = rt.clone();
            async move {
                let n = rt
                    .list_container_stats(ListContainerStatsRequest { filter: None })
                    .await
                    .unwrap()
                    .into_inner()
                    .stats
                    .len();
                assert_eq!(n, CONTAINERS);
            }
        })
        .await;
        list_stats.print("ListContainerStats");
        let metrics = Measured::run(pid, sampler_per_s, CALLS / 10, || {
            let mut rt = rt.clone();
            async move {
                let pods = rt
                    .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
                    .await
                    .unwrap()
                    .into_inner()
                    .pod_metrics;
                assert_eq!(
                    pods.iter().map(|p| p.container_metrics.len()).sum::<usize>(),
                    CONTAINERS
                );
            }
        })
        .await;
        metrics.print("ListPodSandboxMetrics");
        println!(
            "  background sampler       {:6.1} ms of CPU per second",
            sampler_per_s.as_secs_f64() * 1e3
        );
        for pod in pods {
            pod.remove().await;
        }
        node.finish();
    });
}
