//! Pods start and run: a Deployment, pod addresses and pod-to-pod traffic, init containers.

use e2e::cluster::Cluster;
use serde_json::json;

use super::{in_cidr, pod_spec};

/// A Deployment of 10 replicas becomes Available; every pod Runs with an address from the
/// node's pod CIDR, and each pod reaches every other one's HTTP server.
pub fn deployment_of_ten_runs_and_its_pods_reach_each_other(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www";
    cluster.apply_json(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": pod_spec(cluster, json!([{"name": "web", "image": cluster.busybox, "command": ["sh", "-c", serve],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}}]))
            }
        }
    }));
    let (ok, _, err) = cluster.kubectl(&[
        "-n",
        ns,
        "wait",
        "deployment/web",
        "--for=condition=Available",
        "--timeout=180s",
    ]);
    assert!(ok, "the deployment never became Available: {err}\n{}", cluster.log_tails());
    cluster.wait("all 10 replicas ready", std::time::Duration::from_secs(120), |c| {
        c.kubectl(&["-n", ns, "get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}"])
            .1
            .trim()
            == "10"
    });
    let wide = cluster.kubectl_ok(&["-n", ns, "get", "pods", "-o", "wide", "--no-headers"]);
    assert_eq!(wide.lines().filter(|l| l.contains(" Running ")).count(), 10, "{wide}");
    let pods = cluster.get_json(&["-n", ns, "get", "pods", "-l", "app=web"]);
    let pods: Vec<(String, String)> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["status"]["podIP"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(pods.len(), 10);
    for (name, ip) in &pods {
        assert!(
            in_cidr(ip, &cluster.pod_cidr),
            "pod {name} has {ip:?}, outside {}",
            cluster.pod_cidr
        );
        assert!(wide.contains(ip.as_str()), "`get pods -o wide` does not show {ip}: {wide}");
    }
    let (from, _) = &pods[0];
    for (name, ip) in &pods[1..] {
        let page = cluster.http_get_in_pod(ns, from, &format!("{ip}:8080"));
        assert_eq!(page.trim(), name, "{from} fetched {ip}");
    }
}

/// Init containers run one after another, each to completion, before the app container.
pub fn init_containers_run_in_order_before_the_app(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let step = |n: u32| {
        json!({"name": format!("init{n}"), "image": cluster.busybox, "command": ["sh", "-c", format!("echo init{n} $(date +%s) >> /work/order; sleep 1")],
        "volumeMounts": [{"name": "work", "mountPath": "/work"}]})
    };
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "app", "image": cluster.busybox,
        "command": ["sh", "-c", "echo app $(date +%s) >> /work/order; cat /work/order; exec sleep 3600"],
        "volumeMounts": [{"name": "work", "mountPath": "/work"}]}]),
    );
    spec["initContainers"] = json!([step(1), step(2)]);
    spec["volumes"] = json!([{"name": "work", "emptyDir": {}}]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "inits", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "inits");
    let log = cluster.kubectl_ok(&["-n", ns, "logs", "inits", "-c", "app"]);
    let order: Vec<(&str, u128)> = log
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n, t.trim().parse().unwrap_or(0)))
        .collect();
    assert_eq!(
        order.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["init1", "init2", "app"],
        "{log}"
    );
    // Each step began after the one before had slept its second and exited.
    assert!(order[1].1 > order[0].1 && order[2].1 > order[1].1, "{log}");
    let pod = cluster.pod(ns, "inits");
    for init in pod["status"]["initContainerStatuses"].as_array().unwrap() {
        assert_eq!(init["state"]["terminated"]["reason"], "Completed", "{init}");
    }
}
