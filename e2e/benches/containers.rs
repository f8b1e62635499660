//! Containers, cricket against containerd's own CRI plugin, in one run with the same workload:
//! a kubelet-like pod (own PID namespace) with one busybox `sleep` container, on the same kind
//! of CNI network (bridge, host-local, portmap), images from the same local registry.
//! Prints CreateContainer, StartContainer, StopContainer and RemoveContainer latency (p50,
//! p99) at concurrency 1 and 20, pod + container start (RunPodSandbox + CreateContainer +
//! StartContainer), the wall time of a burst of 20 pods started at once, and each daemon's
//! RSS while 20 pods run.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench containers

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::cri_client::CriClient;
use e2e::percentile::millis;
use e2e::proc_usage::rss_kib;
use e2e::side_by_side::SideBySide;
use e2e::NodeOptions;

const SEQUENTIAL: usize = 20;
const BURST: usize = 20;
const BURST_ROUNDS: usize = 3;

/// What one runtime measured.
#[derive(Default)]
struct Figures {
    /// Per operation, at concurrency 1 and 20.
    ops: [[Vec<Duration>; 5]; 2],
    /// RunPodSandbox + CreateContainer + StartContainer of one pod, at concurrency 1.
    pod_start: Vec<Duration>,
    /// From the first call to the last container running, per burst.
    bursts: Vec<Duration>,
    /// The daemon's RSS (KiB): before the workload, with a burst's pods running (the largest
    /// seen), and after the last burst is gone.
    rss_idle_kib: u64,
    rss_kib: u64,
    rss_after_kib: u64,
    /// The RSS and PSS of the per-container log writers (cricket-logger) with a burst running.
    loggers_kib: (u64, u64),
}

const OPS: [&str; 5] =
    ["RunPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer"];

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t0 = Instant::now();
    let out = f.await;
    (out, t0.elapsed())
}

fn pod_config(name: &str, log_root: &std::path::Path) -> PodSandboxConfig {
    e2e::pods::kubelet_pod(name, "bench", log_root)
}

fn container_config(image: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: "sleeper".into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into(), ..Default::default() }),
        command: vec!["sleep".into(), "1000".into()],
        log_path: "sleeper/0.log".into(),
        ..Default::default()
    }
}

/// Starts one pod with its container: (pod, container, [run, create, start]).
async fn start_pod(
    mut cri: CriClient,
    name: String,
    image: String,
    log_root: std::path::PathBuf,
) -> (String, String, [Duration; 3]) {
    let config = pod_config(&name, &log_root);
    let req = RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() };
    let (reply, run) = timed(cri.runtime.run_pod_sandbox(req)).await;
    let pod = reply.expect("RunPodSandbox").into_inner().pod_sandbox_id;
    let req = CreateContainerRequest {
        pod_sandbox_id: pod.clone(),
        config: Some(container_config(&image)),
        sandbox_config: Some(config),
    };
    let (reply, create) = timed(cri.runtime.create_container(req)).await;
    let id = reply.expect("CreateContainer").into_inner().container_id;
    let (reply, start) =
        timed(cri.runtime.start_container(StartContainerRequest { container_id: id.clone() }))
            .await;
    reply.expect("StartContainer");
    (pod, id, [run, create, start])
}

/// Stops and removes the container, then the pod: [stop, remove] of the container.
async fn end_pod(mut cri: CriClient, pod: String, id: String) -> [Duration; 2] {
    let (reply, stop) = timed(
        cri.runtime.stop_container(StopContainerRequest { container_id: id.clone(), timeout: 0 }),
    )
    .await;
    reply.expect("StopContainer");
    let (reply, remove) =
        timed(cri.runtime.remove_container(RemoveContainerRequest { container_id: id })).await;
    reply.expect("RemoveContainer");
    cri.runtime
        .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.clone() })
        .await
        .expect("StopPodSandbox");
    cri.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod })
        .await
        .expect("RemovePodSandbox");
    [stop, remove]
}

/// The summed (RSS, PSS) of every process named `comm`, in KiB: PSS shares the pages they
/// have in common (the binary, libc) among them.
fn memory_of_all(comm: &str) -> (u64, u64) {
    let pids = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
    let pss = |pid: i32| {
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    pids.filter(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
    })
    .fold((0, 0), |(r, p), pid| (r + rss_kib(pid), p + pss(pid)))
}

async fn workload(
    cri: &CriClient,
    image: &str,
    log_root: &std::path::Path,
    daemon_pid: i32,
    tag: &str,
) -> Figures {
    let mut f = Figures { rss_idle_kib: rss_kib(daemon_pid), ..Default::default() };
    let (image, log_root) = (image.to_string(), log_root.to_path_buf());
    // Warm-up: the first pod pays for the bridge (and containerd for its sandbox image).
    let (pod, id, _) =
        start_pod(cri.clone(), format!("{tag}-warm"), image.clone(), log_root.clone()).await;
    end_pod(cri.clone(), pod, id).await;
    for i in 0..SEQUENTIAL {
        let (pod, id, t) =
            start_pod(cri.clone(), format!("{tag}-s{i}"), image.clone(), log_root.clone()).await;
        let [stop, remove] = end_pod(cri.clone(), pod, id).await;
        for (slot, d) in [t[0], t[1], t[2], stop, remove].into_iter().enumerate() {
            f.ops[0][slot].push(d);
        }
        f.pod_start.push(t.iter().sum());
    }
    for round in 0..BURST_ROUNDS {
        let t0 = Instant::now();
        let started = futures::future::join_all((0..BURST).map(|i| {
            start_pod(cri.clone(), format!("{tag}-b{round}-{i}"), image.clone(), log_root.clone())
        }))
        .await;
        f.bursts.push(t0.elapsed());
        f.rss_kib = f.rss_kib.max(rss_kib(daemon_pid));
        f.loggers_kib = f.loggers_kib.max(memory_of_all("cricket-logger"));
        let ended = futures::future::join_all(
            started.iter().map(|(pod, id, _)| end_pod(cri.clone(), pod.clone(), id.clone())),
        )
        .await;
        for ((_, _, t), [stop, remove]) in started.iter().zip(ended) {
            for (slot, d) in [t[0], t[1], t[2], stop, remove].into_iter().enumerate() {
                f.ops[1][slot].push(d);
            }
        }
    }
    f.rss_after_kib = rss_kib(daemon_pid);
    f
}

fn report(cricket: &Figures, containerd: &Figures) {
    println!(
        "  {:<32} {:>22} {:>22} {:>8}",
        "", "cricket p50 / p99", "containerd p50 / p99", "p50 ratio"
    );
    let line = |label: String, a: &[Duration], b: &[Duration]| {
        let (a50, b50) = (millis(a, 0.5), millis(b, 0.5));
        println!(
            "  {label:<32} {:>9.1} / {:>7.1} ms {:>9.1} / {:>7.1} ms {:>8.2}",
            a50,
            millis(a, 0.99),
            b50,
            millis(b, 0.99),
            a50 / b50
        );
    };
    for (c, conc) in ["concurrency 1 ", "concurrency 20"].iter().enumerate() {
        for (i, op) in OPS.iter().enumerate() {
            line(format!("{conc} {op}"), &cricket.ops[c][i], &containerd.ops[c][i]);
        }
    }
    line("pod + container start".into(), &cricket.pod_start, &containerd.pod_start);
    line(format!("burst of {BURST} pods, wall"), &cricket.bursts, &containerd.bursts);
    println!("  goals: pod + container start and the burst <= 0.6x containerd's");
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (name, f) in [("cricket", cricket), ("containerd with CRI", containerd)] {
        println!(
            "  RSS of {name}: {:.1} MiB idle, {:.1} MiB with {BURST} pods running, {:.1} MiB after",
            mib(f.rss_idle_kib),
            mib(f.rss_kib),
            mib(f.rss_after_kib)
        );
    }
    let (rss, pss) = cricket.loggers_kib;
    println!("  goal: cricket <= 15 MiB with {BURST} pods; its {BURST} log writers (cricket-logger) have {:.1} MiB RSS, {:.1} MiB PSS", mib(rss), mib(pss));
}

fn main() {
    SideBySide::bench(NodeOptions::default(), "10.199", |side| async move {
        let SideBySide { mut node, theirs: containerd, cricket: cri, containerd: ctd, image } =
            side;
        println!("containers: busybox `sleep` in a pod with its own PID namespace, bridge + host-local + portmap, release build, 2 cores");
        let log_root = node.ws.run("bench-logs");
        let cricket_pid = node.cricket().pid();
        let cricket = workload(&cri, &image, &log_root, cricket_pid, "k").await;
        let theirs = workload(&ctd, &image, &log_root, containerd.pid(), "c").await;
        report(&cricket, &theirs);
        let log = node.cricket().log_text();
        for (phase, range) in
            [("concurrency 1 ", 0..SEQUENTIAL + 1), ("concurrency 20", SEQUENTIAL + 1..usize::MAX)]
        {
            let median = |k: &str| {
                e2e::bench_log::median_field(&log, "container start steps", k, range.clone())
            };
            let steps: Vec<String> = ["mounts_ms", "task_ms", "started_ms"]
                .iter()
                .map(|k| format!("{k} {:.1}", median(k)))
                .collect();
            println!("  cricket's StartContainer, {phase} (medians): {}", steps.join(", "));
        }
        drop(containerd);
        node.finish();
    });
}
