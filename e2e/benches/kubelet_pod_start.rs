//! 30 pods created at once through the API server of a one-node cluster whose kubelet uses
//! cricket (release build): kubelet's own pod start SLI (p50, p99, from its
//! `kubelet_pod_start_sli_duration_seconds` histogram), the wall time until every pod is
//! Ready, and the node runtime's memory (PSS of cricket with its log relays, containerd and
//! the shims), beside the same for Debian's containerd with its CRI plugin as the runtime.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench kubelet_pod_start

use std::time::{Duration, Instant};

use e2e::cluster::{Cluster, ClusterOptions, NodeRuntime, NODE_NAME};
use serde_json::json;

const PODS: usize = 30;

/// The `q` quantile of a Prometheus histogram (`le` bucket bounds and cumulative counts),
/// interpolated inside its bucket as Prometheus' histogram_quantile does.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return prev.0;
            }
            let within = if count > prev.1 { (rank - prev.1) / (count - prev.1) } else { 0.0 };
            return prev.0 + (le - prev.0) * within;
        }
        prev = (le, count);
    }
    f64::NAN
}

/// kubelet's pod start SLI histogram: (upper bound, cumulative count) per bucket.
fn sli_buckets(cluster: &Cluster) -> Vec<(f64, f64)> {
    let text =
        cluster.kubectl_ok(&["get", "--raw", &format!("/api/v1/nodes/{NODE_NAME}/proxy/metrics")]);
    let metrics = e2e::prometheus_text::parse(&text).expect("kubelet's metrics parse");
    let mut buckets: Vec<(f64, f64)> = metrics
        .samples
        .iter()
        .filter(|s| s.name == "kubelet_pod_start_sli_duration_seconds_bucket")
        .filter_map(|s| {
            s.labels.get("le").map(|le| (le.parse::<f64>().unwrap_or(f64::INFINITY), s.value))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// Memory (PSS, KiB) of the node runtime's processes (whose command lines name
/// `needle`), grouped by what they are: cricket's or the CRI containerd's.
fn runtime_memory_kib(needle: &str, runtime: NodeRuntime) -> [(&'static str, u64); 4] {
    let mut sums = [("cricket", 0), ("cricket-logger", 0), ("containerd", 0), ("shims", 0)];
    // The CRI containerd's config, and the address its shims are given, name it.
    let cri_containerd = |cmdline: &str| cmdline.contains("ctd-cri");
    for p in e2e::leaks::processes_naming(needle) {
        let (pid, cmdline) = p.split_once(": ").unwrap_or_default();
        if cri_containerd(cmdline) != (runtime == NodeRuntime::ContainerdCri) {
            continue;
        }
        // Proportional set size: pages shared by many processes (the shims' and loggers' code)
        // count once in all, as RSS would count them once per process.
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let pss: u64 = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let program = cmdline
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let slot = match program {
            "cricket" => 0,
            "cricket-logger" => 1,
            "containerd" => 2,
            p if p.starts_with("containerd-shim") => 3,
            _ => continue,
        };
        sums[slot].1 += pss;
    }
    sums
}

/// What one run measured.
struct Figures {
    sli_p50: f64,
    sli_p99: f64,
    samples: f64,
    wall: Duration,
    memory: [(&'static str, u64); 4],
}

/// Starts a cluster on `runtime`, creates the pods at once and measures.
fn measure(runtime: NodeRuntime) -> Figures {
    let cluster = Cluster::start(ClusterOptions { runtime, ..Default::default() });
    let ns = cluster.namespace("bench");
    let pod = |name: String| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"]}], "terminationGracePeriodSeconds": 1}})
    };
    // The image is on the node already, as on a node that ran the workload before.
    cluster.apply_json(&pod("warm".into()));
    cluster.wait_pod_ready(&ns, "warm");
    cluster.kubectl_ok(&["-n", &ns, "delete", "pod", "warm"]);
    let before = sli_buckets(&cluster);

    let pods: Vec<_> = (0..PODS).map(|i| pod(format!("p{i}"))).collect();
    let started = Instant::now();
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "List", "items": pods}));
    let ready_jsonpath =
        r#"jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#;
    cluster.wait("all pods Ready", Duration::from_secs(300), |c| {
        c.kubectl(&["-n", &ns, "get", "pods", "-o", ready_jsonpath])
            .1
            .lines()
            .filter(|l| *l == "True")
            .count()
            == PODS
    });
    let wall = started.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let after = sli_buckets(&cluster);
    let delta: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, n)| (*le, n - before.iter().find(|b| b.0 == *le).map_or(0.0, |b| b.1)))
        .collect();
    let memory = runtime_memory_kib(&format!("cricket-e2e-{}", cluster.node.ws.id), runtime);
    let figures = Figures {
        sli_p50: quantile(&delta, 0.5),
        sli_p99: quantile(&delta, 0.99),
        samples: delta.last().map_or(0.0, |b| b.1),
        wall,
        memory,
    };
    cluster.finish();
    figures
}

fn report(name: &str, f: &Figures) {
    println!("  {name}");
    println!(
        "    kubelet_pod_start_sli_duration_seconds   p50 {:6.3} s   p99 {:6.3} s   (n={})",
        f.sli_p50, f.sli_p99, f.samples
    );
    println!("    wall time until all Ready                {:6.2} s", f.wall.as_secs_f64());
    let total: u64 = f.memory.iter().map(|(_, k)| k).sum();
    let parts: Vec<String> = f
        .memory
        .iter()
        .filter(|(_, k)| *k > 0)
        .map(|(what, kib)| format!("{what} {:.1}", *kib as f64 / 1024.0))
        .collect();
    println!(
        "    node runtime memory (PSS, MiB)           {:.1} total: {}",
        total as f64 / 1024.0,
        parts.join(", ")
    );
}

fn main() {
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    println!(
        "kubelet_pod_start: {PODS} pods at once through the API server, kubelet {}, 2 cores",
        e2e::kube::pinned_version()
    );
    report("cricket (release build)", &measure(NodeRuntime::Cricket));
    report("containerd's CRI plugin (Debian's containerd)", &measure(NodeRuntime::ContainerdCri));
}
