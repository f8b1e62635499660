//! How long an unrelated call waits while cricket is busy: `Version` is called every 5 ms,
//! first on an idle daemon, then while 50 RunPodSandbox calls run at once (and their stops and
//! removals). A blocking call on one of cricket's two async workers shows as a long `Version`.
//! Beside it, the floor the kernel's scheduler alone sets on the loaded machine: a thread of
//! the bench sleeps 5 ms in a loop and records how late it wakes, and two threads of the bench
//! pass a byte back and forth over a unix socket pair every 5 ms (a round trip with two
//! wake-ups, as a call has at the least).
//! Run: cargo build --release --bins && cargo bench -p e2e --bench rpc_stall

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::cri_client::CriClient;
use e2e::{Node, NodeOptions};

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

/// Calls `Version` every `PROBE_EVERY` from a thread and runtime of its own, on a connection
/// of its own: it waits only for cricket and the kernel, not behind the storm's futures in
/// the bench's runtime.
fn probe_apart(
    socket: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let cri = CriClient::connect(&socket).await.expect("a connection for the probe");
            probe(cri, stop).await
        })
    })
}

/// Sleeps `PROBE_EVERY` until `stop` is set, on an OS thread; returns how late each wake was.
fn wake_delays(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut late = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            std::thread::sleep(PROBE_EVERY);
            late.push(t0.elapsed().saturating_sub(PROBE_EVERY));
        }
        late
    })
}

/// Times a one-byte round trip between two threads every `PROBE_EVERY` until `stop` is set.
fn socket_round_trips(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Duration>> {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let (mut near, mut far) = UnixStream::pair().expect("a socket pair");
    std::thread::spawn(move || {
        let mut byte = [0u8];
        while far.read_exact(&mut byte).is_ok() && far.write_all(&byte).is_ok() {}
    });
    std::thread::spawn(move || {
        let mut took = Vec::new();
        let mut byte = [7u8];
        while !stop.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            near.write_all(&byte).and_then(|()| near.read_exact(&mut byte)).expect("echo");
            took.push(t0.elapsed());
            std::thread::sleep(PROBE_EVERY);
        }
        took
    })
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
    // At info, as a node runs cricket: debug lines would measure the log file's contention.
    let node = Node::start(NodeOptions { info_logs: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let cri = node.client().await;
    let socket = node.ws.run("cricket.sock");
    // Warm-up: the first pod creates the bridge.
    storm_of_one(&cri).await;

    let stop = Arc::new(AtomicBool::new(false));
    let idle = probe_apart(socket.clone(), stop.clone());
    let idle_wakes = wake_delays(stop.clone());
    let idle_trips = socket_round_trips(stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    println!("  idle:                       Version {}", summary(idle.join().unwrap()));
    println!("                        a thread's wake {}", summary(idle_wakes.join().unwrap()));
    println!("                  a socket round trip {}", summary(idle_trips.join().unwrap()));

    let stop = Arc::new(AtomicBool::new(false));
    let busy = probe_apart(socket.clone(), stop.clone());
    let busy_wakes = wake_delays(stop.clone());
    let busy_trips = socket_round_trips(stop.clone());
    let took = storm(&cri).await;
    stop.store(true, Ordering::Relaxed);
    println!("  {PODS} RunPodSandbox at once:   Version {}", summary(busy.join().unwrap()));
    println!("                        a thread's wake {}", summary(busy_wakes.join().unwrap()));
    println!("                  a socket round trip {}", summary(busy_trips.join().unwrap()));
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
