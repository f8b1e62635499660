//! kubelet's stats (from the CRI, `PodAndContainerStatsFromCRI`) and its log rotation.

use std::io::Read;
use std::time::{Duration, Instant};

use e2e::cluster::{Cluster, NODE_NAME};
use serde_json::{json, Value};

use super::pod_spec;

/// The memory working set of a container's cgroup: usage less inactive file pages.
fn cgroup_working_set(cluster: &Cluster, pod: &Value, container: &str) -> f64 {
    let usage: f64 = cluster
        .container_cgroup_file(pod, container, "memory", "memory.usage_in_bytes")
        .parse()
        .unwrap();
    let stat = cluster.container_cgroup_file(pod, container, "memory", "memory.stat");
    let inactive: f64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("total_inactive_file "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    usage - inactive
}

fn cgroup_cpu_seconds(cluster: &Cluster, pod: &Value, container: &str) -> f64 {
    cluster
        .container_cgroup_file(pod, container, "cpuacct", "cpuacct.usage")
        .parse::<f64>()
        .unwrap()
        / 1e9
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// `/stats/summary` and `/metrics/resource` report what the containers' cgroups hold.
pub fn stats_summary_and_resource_metrics_match_the_cgroups(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let mut spec = pod_spec(
        cluster,
        json!([
            {"name": "spin", "image": cluster.busybox, "command": ["sh", "-c", "yes > /dev/null"], "resources": {"limits": {"cpu": "200m"}}},
            // Ready only once all 30 MB are held, so that both readings see the same.
            {"name": "mem", "image": cluster.busybox, "command": ["sh", "-c", "head -c 30000000 /dev/zero > /held/blob; touch /held/done; exec sleep 3600"],
             "readinessProbe": {"exec": {"command": ["cat", "/held/done"]}, "periodSeconds": 1},
             "volumeMounts": [{"name": "held", "mountPath": "/held"}]}
        ]),
    );
    spec["volumes"] = json!([{"name": "held", "emptyDir": {"medium": "Memory"}}]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "busy", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "busy");
    let pod = cluster.pod(ns, "busy");
    let summary_path = format!("/api/v1/nodes/{NODE_NAME}/proxy/stats/summary");
    // kubelet's first samples need a few seconds of history for a CPU rate.
    let (summary, cgroup_ws, cgroup_rate) = (0..30)
        .find_map(|_| {
            let cpu_before = (Instant::now(), cgroup_cpu_seconds(cluster, &pod, "spin"));
            std::thread::sleep(Duration::from_secs(2));
            let rate = (cgroup_cpu_seconds(cluster, &pod, "spin") - cpu_before.1)
                / cpu_before.0.elapsed().as_secs_f64();
            let summary: Value =
                serde_json::from_str(&cluster.kubectl_ok(&["get", "--raw", &summary_path]))
                    .unwrap();
            let ws = cgroup_working_set(cluster, &pod, "mem");
            let pods = summary["pods"].as_array().cloned().unwrap_or_default();
            let mine = pods
                .into_iter()
                .find(|p| p["podRef"]["name"] == "busy" && p["podRef"]["namespace"] == ns)?;
            let containers = mine["containers"].as_array()?;
            let spin = containers.iter().find(|c| c["name"] == "spin")?;
            spin["cpu"]["usageNanoCores"].as_f64()?;
            Some((mine.clone(), ws, rate))
        })
        .unwrap_or_else(|| {
            panic!("/stats/summary never reported the pod's CPU\n{}", cluster.log_tails())
        });
    let container = |name: &str| {
        summary["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let cores = container("spin")["cpu"]["usageNanoCores"].as_f64().unwrap() / 1e9;
    assert!(
        close(cores, cgroup_rate, 0.08) && cores > 0.1,
        "spin uses {cores} cores by the summary, {cgroup_rate} by its cgroup"
    );
    let ws = container("mem")["memory"]["workingSetBytes"].as_f64().unwrap();
    assert!(
        ws > 28e6 && close(ws, cgroup_ws, 4e6),
        "mem's working set: {ws} by the summary, {cgroup_ws} by its cgroup"
    );

    let metrics_path = format!("/api/v1/nodes/{NODE_NAME}/proxy/metrics/resource");
    let text = cluster.kubectl_ok(&["get", "--raw", &metrics_path]);
    let cpu_now = cgroup_cpu_seconds(cluster, &pod, "spin");
    let ws_now = cgroup_working_set(cluster, &pod, "mem");
    let metrics = e2e::prometheus_text::parse(&text).unwrap();
    let labels = |c: &'static str| [("namespace", ns), ("pod", "busy"), ("container", c)];
    let cpu = metrics
        .value("container_cpu_usage_seconds_total", &labels("spin"))
        .unwrap_or_else(|| panic!("no CPU of spin:\n{text}"));
    let ws = metrics
        .value("container_memory_working_set_bytes", &labels("mem"))
        .unwrap_or_else(|| panic!("no memory of mem:\n{text}"));
    // The metric is a sample from at most a few seconds ago, of a container using 0.2 cores.
    assert!(
        cpu <= cpu_now + 0.01 && cpu >= cpu_now - 3.0,
        "spin's CPU: {cpu} s by the metrics, {cpu_now} s by its cgroup"
    );
    assert!(
        close(ws, ws_now, 4e6),
        "mem's working set: {ws} by the metrics, {ws_now} by its cgroup"
    );
}

/// The text of each CRI log line (`<time> <stream> <P|F> <text>`), partial lines joined.
fn cri_log_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut partial = String::new();
    for line in text.lines() {
        let mut fields = line.splitn(4, ' ');
        let (_, _, tag, content) =
            (fields.next(), fields.next(), fields.next(), fields.next().unwrap_or(""));
        partial.push_str(content);
        if tag != Some("P") {
            lines.push(std::mem::take(&mut partial));
        }
    }
    lines
}

/// With `containerLogMaxSize: 1Mi`, kubelet rotates a chatty container's log: rotated files
/// appear, cricket reopens the log, and no line is lost across the rotations.
pub fn kubelet_rotates_a_chatty_log_without_losing_a_line(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    const LINES: usize = 40000;
    let pad = "x".repeat(90);
    let script = format!("i=0; while [ $i -lt {LINES} ]; do echo line-$i-{pad}; i=$((i+1)); [ $((i % 1000)) -eq 0 ] && sleep 1; done; echo finished; exec sleep 3600");
    let mut pod = super::shell_pod(cluster, ns, "chatty", &script);
    pod["spec"]["terminationGracePeriodSeconds"] = json!(1);
    cluster.apply_json(&pod);
    cluster.wait_pod_ready(ns, "chatty");
    let uid = cluster.pod(ns, "chatty")["metadata"]["uid"].as_str().unwrap().to_string();
    let dir = cluster.dir.join("pods").join(format!("{ns}_chatty_{uid}")).join("c");
    let current = dir.join("0.log");
    // kubelet looks every 10 s; the last rotation may come after the last line.
    cluster.wait("the chatty container to finish", Duration::from_secs(180), |_| {
        std::fs::read_to_string(&current).is_ok_and(|t| t.contains(" finished\n"))
    });
    let mut rotated: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != "0.log"))
        .collect();
    rotated.sort();
    assert!(rotated.len() >= 2, "kubelet rotated {} times: {rotated:?}", rotated.len());
    let mut text = String::new();
    for file in rotated.iter().chain(std::iter::once(&current)) {
        let raw = std::fs::read(file).unwrap();
        if file.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut text).unwrap();
        } else {
            text.push_str(&String::from_utf8_lossy(&raw));
        }
    }
    let lines = cri_log_lines(&text);
    let expected: Vec<String> = (0..LINES)
        .map(|i| format!("line-{i}-{pad}"))
        .chain(std::iter::once("finished".to_string()))
        .collect();
    if lines != expected {
        let first_bad = lines
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(lines.len().min(expected.len()));
        panic!(
            "{} lines logged, {} written; they differ first at line {first_bad}: {:?}",
            lines.len(),
            expected.len(),
            lines.get(first_bad)
        );
    }
    let reopened =
        cluster.node.cricket_log_tail(usize::MAX).matches("container log reopened").count();
    assert!(reopened >= rotated.len(), "{} rotations, {reopened} reopens", rotated.len());
}
