//! A one-node cluster whose kubelet uses cricket: kubelet and cricket restart under running
//! pods, and a pod is deleted while cricket is down. Each test has a cluster of its own.

mod kube_scenarios;

use std::time::Duration;

use e2e::cluster::{Cluster, ClusterOptions};
use kube_scenarios::shell_pod;
use kube_scenarios::streaming::{port_forward_fetch, Transport};
use serde_json::Value;

const SERVE: &str = "mkdir -p /www && echo served > /www/index.html && httpd -p 8080 -h /www; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done";

/// What kubelet would notice of a restart: the pod's sandbox and each container's ID and
/// restart count.
fn identity(cluster: &Cluster, ns: &str, pod: &str) -> (String, u64, String) {
    let p = cluster.pod(ns, pod);
    let status = Cluster::container_status(&p, "c");
    (
        Cluster::container_id(&p, "c"),
        status["restartCount"].as_u64().unwrap_or(99),
        p["status"]["podIP"].as_str().unwrap_or("").to_string(),
    )
}

fn running_pod(cluster: &Cluster, ns: &str, name: &str) -> (String, u64, String) {
    cluster.apply_json(&shell_pod(cluster, ns, name, SERVE));
    cluster.wait_pod_ready(ns, name);
    identity(cluster, ns, name)
}

/// No new sandbox and no kill: the events kubelet records when it restarts a pod.
fn assert_untouched(cluster: &Cluster, ns: &str, pod: &str, before: &(String, u64, String)) {
    let after = identity(cluster, ns, pod);
    assert_eq!(&after, before, "the pod was restarted");
    let events = cluster.events(ns, pod);
    assert!(
        !events.iter().any(|e| e.starts_with("SandboxChanged") || e.starts_with("Killing")),
        "{events:?}"
    );
    let phase = cluster.pod(ns, pod)["status"]["phase"].clone();
    assert_eq!(phase, Value::from("Running"));
}

/// logs, exec and port-forward reach the pod.
fn assert_streaming_works(cluster: &Cluster, ns: &str, pod: &str) {
    cluster.wait("new log lines", Duration::from_secs(20), |c| {
        c.kubectl(&["-n", ns, "logs", "--tail=1", pod]).1.starts_with("tick-")
    });
    assert_eq!(cluster.sh(ns, pod, "echo exec-ok").trim(), "exec-ok");
    assert_eq!(port_forward_fetch(cluster, Transport::WebSocket, ns, pod, 18090, 8080), "served\n");
}

#[test]
fn pods_keep_running_with_the_same_containers_across_a_kubelet_restart() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let ns = cluster.namespace("kubelet-restart");
    let before = running_pod(&cluster, &ns, "steady");
    cluster.stop_kubelet();
    cluster.start_kubelet();
    cluster.wait_node_ready();
    // Long enough for kubelet to relist and sync the pod.
    std::thread::sleep(Duration::from_secs(15));
    assert_untouched(&cluster, &ns, "steady", &before);
    assert_streaming_works(&cluster, &ns, "steady");
    cluster.finish();
}

#[test]
fn kubelet_sees_no_pod_restart_when_cricket_restarts_after_sigterm_or_sigkill() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let ns = cluster.namespace("cricket-restart");
    let before = running_pod(&cluster, &ns, "steady");
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let cricket = cluster.node.cricket();
        assert!(
            cricket.signal_and_wait(signal, Duration::from_secs(20)).is_some(),
            "cricket did not exit on signal {signal}"
        );
        cricket.start_again();
        std::thread::sleep(Duration::from_secs(15));
        cluster.wait_node_ready();
        assert_untouched(&cluster, &ns, "steady", &before);
        assert_streaming_works(&cluster, &ns, "steady");
    }
    cluster.finish();
}

#[test]
fn a_pod_deleted_while_cricket_is_down_is_cleaned_up_once_it_returns() {
    let mut cluster = Cluster::start(ClusterOptions::default());
    let ns = cluster.namespace("deleted-while-down");
    running_pod(&cluster, &ns, "doomed");
    let uid = cluster.pod(&ns, "doomed")["metadata"]["uid"].as_str().unwrap().to_string();
    assert!(cluster
        .node
        .cricket()
        .signal_and_wait(libc::SIGKILL, Duration::from_secs(20))
        .is_some());
    cluster.kubectl_ok(&["-n", &ns, "delete", "pod", "doomed", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(5));
    cluster.node.cricket().start_again();
    cluster.wait("the pod to be gone", Duration::from_secs(120), |c| {
        !c.kubectl(&["-n", &ns, "get", "pod", "doomed"]).0
    });
    // Its sandbox, containers, address and cgroup go too.
    cluster.wait("cricket to remove the pod's containers", Duration::from_secs(60), |c| {
        c.node.containerd.ctr_ok("k8s.io", &["containers", "ls", "-q"]).trim().is_empty()
    });
    assert!(
        cluster.node.reserved_ips().is_empty(),
        "addresses still reserved: {:?}",
        cluster.node.reserved_ips()
    );
    let cgroups = std::path::Path::new("/sys/fs/cgroup/memory")
        .join(cluster.cgroup_root().trim_start_matches('/'));
    let left = std::process::Command::new("find")
        .arg(&cgroups)
        .arg("-name")
        .arg(format!("pod{uid}"))
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the pod's cgroup is left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    cluster.finish();
}
