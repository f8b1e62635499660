//! How long an unrelated call waits while cricket is busy: `Version` is called every 5 ms,
//! first on an idle daemon, then while 50 RunPodSandbox calls run at once (and their stops and
//! removals). A blocking call on one of cricket's two async workers shows as a long `Version`.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench rpc_stall

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::cri_client::CriClient;
use e2e::{Node, NodeOptions};
use k8s_cri::v1::*;

const PODS: usize = 50;
const PROBE_EVERY: Duration = Duration::from_millis(5);

fn config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "stall".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        linux: e2e::pods::kubelet_linux(),
        ..Default::default()
    }
}

/// Calls `Version` until `stop` is set; returns each call's latency.
async fn probe(mut cri: CriClient, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut took = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        cri.runtime.version(VersionRequest::default()).await.expect("Version");
        took.push(t0.elapsed());
        tokio::time::sleep(PROBE_EVERY).await;
    }
    took
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    let max = v.last().map(|d| d.as_secs_f64() * 1e3).unwrap_or_default();
    format!(
        "p50 {:5.2} ms   p99 {:6.2} ms   max {:6.2} ms   (n={})",
        at(0.5),
        at(0.99),
        max,
        v.len()
    )
}

async fn storm(cri: &CriClient) -> Duration {
    let t0 = Instant::now();
    let ids = futures::future::join_all((0..PODS).map(|i| {
        let mut c = cri.clone();
        async move {
            let req = RunPodSandboxRequest {
                config: Some(config(&format!("p{i}"))),
                runtime_handler: String::new(),
            };
            c.runtime.run_pod_sandbox(req).await.expect("RunPodSandbox").into_inner().pod_sandbox_id
        }
    }))
    .await;
    let took = t0.elapsed();
    futures::future::join_all(ids.iter().map(|id| {
        let mut c = cri.clone();
        let id = id.clone();
        async move {
            let stop = StopPodSandboxRequest { pod_sandbox_id: id.clone() };
            c.runtime.stop_pod_sandbox(stop).await.expect("StopPodSandbox");
            let remove = RemovePodSandboxRequest { pod_sandbox_id: id };
            c.runtime.remove_pod_sandbox(remove).await.expect("RemovePodSandbox");
        }
    }))
    .await;
    took
}

async fn bench() {
    let node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.wait_ready().await;
    let cri = node.client().await;
    // The probe has a connection of its own: it waits only for cricket, not behind the
    // storm's streams on a shared one.
    let prober = node.client().await;
    // Warm-up: the first pod creates the bridge.
    storm_of_one(&cri).await;

    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn(probe(prober.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    println!("  idle:                       Version {}", summary(idle.await.unwrap()));

    let stop = Arc::new(AtomicBool::new(false));
    let busy = tokio::spawn(probe(prober.clone(), stop.clone()));
    let took = storm(&cri).await;
    stop.store(true, Ordering::Relaxed);
    println!("  {PODS} RunPodSandbox at once:   Version {}", summary(busy.await.unwrap()));
    println!("  (the {PODS} RunPodSandbox calls took {:.0} ms in all; stops and removals follow in the same window)", took.as_secs_f64() * 1e3);
    node.finish();
}

async fn storm_of_one(cri: &CriClient) {
    let mut c = cri.clone();
    let req = RunPodSandboxRequest { config: Some(config("warm")), runtime_handler: String::new() };
    let id = c.runtime.run_pod_sandbox(req).await.unwrap().into_inner().pod_sandbox_id;
    c.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await.unwrap();
    c.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id }).await.unwrap();
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!(
        "rpc_stall: Version latency beside {PODS} concurrent RunPodSandbox, release build, 2 cores"
    );
    rt.block_on(bench());
}
