//! A full node, cricket against containerd's own CRI in one run: 110 pods, then 250, each with
//! an init-like container that runs to its exit and then an app container (busybox `sleep`),
//! started in batches of 10 as kubelet's pod workers do. With the node full: the list calls
//! kubelet and its stats make (p50, p99, the daemon's CPU per call), kubelet's relist
//! (ListPodSandbox + ListContainers) while 10 pods churn, memory (the daemon, every shim and
//! log writer, containerd) and the daemon's CPU while idle (the stats sampler). Then the time
//! to stop and remove all 250.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench node_scale
//! (`NODE_SCALE_ONLY_CRICKET=1` leaves containerd's CRI out, for profiling cricket alone).

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::cri_client::CriClient;
use e2e::percentile::millis;
use e2e::proc_usage::{cpu_of, rss_kib};
use e2e::side_by_side::SideBySide;
use e2e::NodeOptions;

const SIZES: [usize; 2] = [110, 250];
const BATCH: usize = 10;
const LIST_CALLS: usize = 50;
const RELISTS: usize = 20;

fn pod_config(name: &str, log_root: &std::path::Path) -> PodSandboxConfig {
    e2e::pods::kubelet_pod(name, "scale", log_root)
}

fn container(image: &str, name: &str, command: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into(), ..Default::default() }),
        command: command.iter().map(|c| c.to_string()).collect(),
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

async fn run_container(
    cri: &mut CriClient,
    pod: &str,
    sandbox: &PodSandboxConfig,
    c: ContainerConfig,
) -> String {
    let req = CreateContainerRequest {
        pod_sandbox_id: pod.into(),
        config: Some(c),
        sandbox_config: Some(sandbox.clone()),
    };
    let id =
        cri.runtime.create_container(req).await.expect("CreateContainer").into_inner().container_id;
    let start = StartContainerRequest { container_id: id.clone() };
    cri.runtime.start_container(start).await.expect("StartContainer");
    id
}

/// One pod as kubelet starts it: the sandbox, the init container to its exit, the app.
async fn start_pod(
    mut cri: CriClient,
    name: String,
    image: String,
    log_root: std::path::PathBuf,
) -> (String, Duration) {
    let t0 = Instant::now();
    let config = pod_config(&name, &log_root);
    let req = RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() };
    let pod =
        cri.runtime.run_pod_sandbox(req).await.expect("RunPodSandbox").into_inner().pod_sandbox_id;
    let init = run_container(&mut cri, &pod, &config, container(&image, "init", &["true"])).await;
    loop {
        let req = ContainerStatusRequest { container_id: init.clone(), verbose: false };
        let s = cri.runtime.container_status(req).await.expect("ContainerStatus").into_inner();
        if s.status.is_some_and(|s| s.state == ContainerState::ContainerExited as i32) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run_container(&mut cri, &pod, &config, container(&image, "app", &["sleep", "100000"])).await;
    (pod, t0.elapsed())
}

async fn end_pod(mut cri: CriClient, pod: String) {
    let stop = StopPodSandboxRequest { pod_sandbox_id: pod.clone() };
    cri.runtime.stop_pod_sandbox(stop).await.expect("StopPodSandbox");
    cri.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod })
        .await
        .expect("RemovePodSandbox");
}

/// The summed PSS (KiB) of every process named `comm`, and their count.
fn pss_of_all(comm: &str) -> (u64, usize) {
    let pids: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .collect();
    let pss = |pid: &i32| {
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (pids.iter().map(pss).sum(), pids.len())
}

/// Each list call `LIST_CALLS` times: p50, p99 and the daemon's CPU per call; a call the
/// runtime does not serve is reported as such.
async fn lists(cri: &mut CriClient, daemon: i32) {
    macro_rules! measure {
        ($label:expr, $call:expr) => {{
            let (mut times, cpu0) = (Vec::new(), cpu_of(daemon));
            let mut failed = None;
            for _ in 0..LIST_CALLS {
                let t0 = Instant::now();
                if let Err(e) = $call.await {
                    failed = Some(e.code());
                    break;
                }
                times.push(t0.elapsed());
            }
            match failed {
                Some(code) => println!("    {:<24} not served ({code:?})", $label),
                None => {
                    let cpu = (cpu_of(daemon) - cpu0).as_secs_f64() * 1e3 / LIST_CALLS as f64;
                    println!(
                        "    {:<24} p50 {:7.2} ms  p99 {:7.2} ms  {cpu:5.2} ms CPU/call",
                        $label,
                        millis(&times, 0.5),
                        millis(&times, 0.99)
                    );
                }
            }
        }};
    }
    let rt = &mut cri.runtime;
    measure!("ListPodSandbox", rt.list_pod_sandbox(ListPodSandboxRequest { filter: None }));
    measure!("ListContainers", rt.list_containers(ListContainersRequest { filter: None }));
    measure!(
        "ListContainerStats",
        rt.list_container_stats(ListContainerStatsRequest { filter: None })
    );
    measure!(
        "ListPodSandboxStats",
        rt.list_pod_sandbox_stats(ListPodSandboxStatsRequest { filter: None })
    );
    measure!("ListPodSandboxMetrics", rt.list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {}));
}

/// kubelet's relist (ListPodSandbox + ListContainers) every 250 ms while 10 pods start and
/// end again and again beside the others.
async fn relist_while_churning(
    cri: &CriClient,
    image: &str,
    log_root: &std::path::Path,
    tag: &str,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churners: Vec<_> = (0..BATCH)
        .map(|i| {
            let (cri, image, log_root, stop) =
                (cri.clone(), image.to_string(), log_root.to_path_buf(), stop.clone());
            let name = format!("{tag}-churn{i}");
            tokio::spawn(async move {
                let mut round = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let (pod, _) = start_pod(
                        cri.clone(),
                        format!("{name}-{round}"),
                        image.clone(),
                        log_root.clone(),
                    )
                    .await;
                    end_pod(cri.clone(), pod).await;
                    round += 1;
                }
            })
        })
        .collect();
    let mut relists = Vec::new();
    let mut rt = cri.runtime.clone();
    for _ in 0..RELISTS {
        let t0 = Instant::now();
        rt.list_pod_sandbox(ListPodSandboxRequest { filter: None }).await.expect("ListPodSandbox");
        rt.list_containers(ListContainersRequest { filter: None }).await.expect("ListContainers");
        relists.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for c in churners {
        c.await.expect("a churning pod");
    }
    println!(
        "    relist while 10 pods churn   p50 {:7.2} ms  p99 {:7.2} ms",
        millis(&relists, 0.5),
        millis(&relists, 0.99)
    );
}

/// The daemon's CPU while idle (10 s), then memory: what stays once the list calls' buffers
/// are freed.
async fn memory_and_idle_cpu(daemon: i32, containerd: i32, pods: usize, name: &str) {
    let cpu0 = cpu_of(daemon);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let share = (cpu_of(daemon) - cpu0).as_secs_f64() / 10.0 * 100.0;
    println!("    {name}'s CPU while idle (its stats sampling): {share:.2}% of one core");
    let mib = |kib: u64| kib as f64 / 1024.0;
    let (shims, n_shims) = pss_of_all("containerd-shim");
    let (loggers, n_loggers) = pss_of_all("cricket-logger");
    let (own, ctd) = (rss_kib(daemon), if containerd == daemon { 0 } else { rss_kib(containerd) });
    let total = own + ctd + shims + loggers;
    println!(
        "    memory: {name} RSS {:.1} MiB, containerd RSS {:.1} MiB, {n_shims} shims PSS {:.1} MiB, {n_loggers} loggers PSS {:.1} MiB; {:.2} MiB per pod",
        mib(own), mib(ctd), mib(shims), mib(loggers), mib(total) / pods as f64
    );
}

/// Fills the node to each size, measuring on the way, then empties it.
async fn workload(
    cri: &CriClient,
    image: &str,
    log_root: &std::path::Path,
    daemon: i32,
    containerd: i32,
    tag: &str,
    name: &str,
) {
    println!("  {name}");
    let mut pods = Vec::new();
    for size in SIZES {
        let (t0, mut per_pod) = (Instant::now(), Vec::new());
        while pods.len() < size {
            let batch = (pods.len()..(pods.len() + BATCH).min(size)).map(|i| {
                start_pod(
                    cri.clone(),
                    format!("{tag}-{i}"),
                    image.to_string(),
                    log_root.to_path_buf(),
                )
            });
            for (pod, took) in futures::future::join_all(batch).await {
                pods.push(pod);
                per_pod.push(took);
            }
        }
        println!(
            "   to {size} pods ({} started): per pod p50 {:.0} ms, p99 {:.0} ms; wall {:.1} s",
            per_pod.len(),
            millis(&per_pod, 0.5),
            millis(&per_pod, 0.99),
            t0.elapsed().as_secs_f64()
        );
        let mut client = cri.clone();
        lists(&mut client, daemon).await;
        memory_and_idle_cpu(daemon, containerd, size, name).await;
    }
    // Ten of the pods make way for ten that churn, so the node stays at its size (and the
    // pod subnet, a /24, is not exhausted).
    for pod in pods.split_off(pods.len() - BATCH) {
        end_pod(cri.clone(), pod).await;
    }
    relist_while_churning(cri, image, log_root, tag).await;
    let t0 = Instant::now();
    for chunk in pods.chunks(BATCH) {
        futures::future::join_all(chunk.iter().map(|p| end_pod(cri.clone(), p.clone()))).await;
    }
    println!("   stop and remove {} pods: {:.1} s", pods.len(), t0.elapsed().as_secs_f64());
}

fn main() {
    let options = NodeOptions { info_logs: true, ..Default::default() };
    SideBySide::bench(options, "10.198", |side| async move {
        let SideBySide { mut node, theirs, cricket: cri, containerd: ctd, image } = side;
        println!("node_scale: release build, 2 cores, containerd {}x under cricket; pods of an init container and a busybox sleep, batches of {BATCH}", e2e::backend::Backend::current().version_prefix());
        let log_root = node.ws.run("scale-logs");
        let (cricket_pid, containerd_pid) = (node.cricket().pid(), node.containerd.pid());
        workload(&cri, &image, &log_root, cricket_pid, containerd_pid, "k", "cricket").await;
        if std::env::var_os("NODE_SCALE_ONLY_CRICKET").is_none() {
            workload(&ctd, &image, &log_root, theirs.pid(), theirs.pid(), "c", "containerd's CRI")
                .await;
        }
        drop(theirs);
        node.finish();
    });
}
