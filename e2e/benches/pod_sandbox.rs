//! RunPodSandbox, StopPodSandbox and RemovePodSandbox latency (p50, p99) at concurrency 1 and
//! 20, with the bridge network (host-local, portmap), release build, a private containerd.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench pod_sandbox

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::cri_client::CriClient;
use e2e::{Node, NodeOptions};

const SEQUENTIAL: usize = 30;
const PARALLEL: usize = 20;
const PARALLEL_ROUNDS: usize = 3;

fn config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "bench".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        // As kubelet sends for a pod without shareProcessNamespace.
        linux: e2e::pods::kubelet_linux(),
        ..Default::default()
    }
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t0 = Instant::now();
    let out = f.await;
    (out, t0.elapsed())
}

async fn run(mut cri: CriClient, name: String) -> (String, Duration) {
    let req = RunPodSandboxRequest { config: Some(config(&name)), runtime_handler: String::new() };
    let (reply, took) = timed(cri.runtime.run_pod_sandbox(req)).await;
    (reply.expect("RunPodSandbox").into_inner().pod_sandbox_id, took)
}

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    format!("p50 {:6.1} ms   p99 {:6.1} ms   (n={})", at(0.5), at(0.99), v.len())
}

async fn phase(cri: &CriClient, names: Vec<String>, concurrency: usize) -> [Vec<Duration>; 3] {
    let (mut runs, mut stops, mut removes) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in names.chunks(concurrency) {
        let started =
            futures::future::join_all(chunk.iter().map(|n| run(cri.clone(), n.clone()))).await;
        runs.extend(started.iter().map(|(_, t)| *t));
        let ids: Vec<String> = started.into_iter().map(|(id, _)| id).collect();
        let stopped = futures::future::join_all(ids.iter().map(|id| {
            let mut c = cri.clone();
            let id = id.clone();
            async move {
                timed(c.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id }))
                    .await
                    .1
            }
        }))
        .await;
        stops.extend(stopped);
        let removed = futures::future::join_all(ids.iter().map(|id| {
            let mut c = cri.clone();
            let id = id.clone();
            async move {
                timed(c.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id }))
                    .await
                    .1
            }
        }))
        .await;
        removes.extend(removed);
    }
    [runs, stops, removes]
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("pod_sandbox: bridge + host-local + portmap, release build, 2 cores");
    println!("  goal: RunPodSandbox p50 <= 45 ms at concurrency 1 (containerd's CRI: 71-87 ms here per the issue)");
    let always = "[containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\npause = \"always\"\n";
    for (mode, extra) in [
        ("pause = \"when_needed\" (default: no pause process)", ""),
        ("pause = \"always\"", always),
    ] {
        println!("{mode}");
        rt.block_on(bench_mode(extra));
    }
}

async fn bench_mode(extra_config: &str) {
    let node = Node::start(NodeOptions { extra_config: extra_config.into(), ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let cri = node.client().await;
    // Warm-up: the first pod pays for creating the bridge.
    let (id, _) = run(cri.clone(), "warm".into()).await;
    let mut c = cri.clone();
    c.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await.unwrap();
    c.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id }).await.unwrap();

    let seq = phase(&cri, (0..SEQUENTIAL).map(|i| format!("s{i}")).collect(), 1).await;
    let par =
        phase(&cri, (0..PARALLEL * PARALLEL_ROUNDS).map(|i| format!("p{i}")).collect(), PARALLEL)
            .await;
    for (label, [runs, stops, removes]) in [("concurrency 1 ", seq), ("concurrency 20", par)] {
        println!("  {label}  RunPodSandbox    {}", percentiles(runs));
        println!("  {label}  StopPodSandbox   {}", percentiles(stops));
        println!("  {label}  RemovePodSandbox {}", percentiles(removes));
    }
    let log = std::fs::read_to_string(&node.cricket.as_ref().unwrap().log).unwrap_or_default();
    println!(
        "  where RunPodSandbox's time goes (medians over all runs, from cricket's debug log):"
    );
    for (phase, range) in
        [("concurrency 1 ", 1..SEQUENTIAL + 1), ("concurrency 20", SEQUENTIAL + 1..usize::MAX)]
    {
        let steps = [
            ("sandbox steps", &["netns_ms", "cni_ms", "pause_ms"][..]),
            ("pause container steps", &["created_ms", "task_ms", "started_ms"][..]),
        ];
        for (step, keys) in steps.into_iter().filter(|(step, _)| log.contains(step)) {
            let line: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!("{k} {:.1}", e2e::bench_log::median_field(&log, step, k, range.clone()))
                })
                .collect();
            println!("    {phase} {step}: {}", line.join(", "));
        }
    }
    node.finish();
}
