//! A one-node cluster whose kubelet uses cricket: what the node reports about its runtime,
//! runtime classes, image pull policies and kubelet's image garbage collection. The tests
//! share one cluster, whose kubelet's image GC frees images unused for a minute.

mod kube_scenarios;

use std::time::{Duration, Instant};

use e2e::cluster::{Cluster, ClusterOptions, NODE_NAME};
use e2e::cluster_ops::shared;
use kube_scenarios::shell_pod;
use serde_json::json;

fn options() -> ClusterOptions {
    ClusterOptions { eager_image_gc: true, ..Default::default() }
}

#[test]
fn the_node_reports_cricket_its_cgroup_driver_and_its_runtime_handlers() {
    let cluster = shared(options());
    let version = cluster.kubectl_ok(&[
        "get",
        "node",
        NODE_NAME,
        "-o",
        "jsonpath={.status.nodeInfo.containerRuntimeVersion}",
    ]);
    assert_eq!(version, format!("cricket://{}", env!("CARGO_PKG_VERSION")));
    let node = cluster.get_json(&["get", "node", NODE_NAME]);
    let handlers = node["status"]["runtimeHandlers"].as_array().cloned().unwrap_or_default();
    let runc = handlers
        .iter()
        .find(|h| h["name"] == "runc")
        .unwrap_or_else(|| panic!("no runc handler: {handlers:?}"));
    assert_eq!(runc["features"]["recursiveReadOnlyMounts"], true, "{runc}");
    assert!(
        handlers.iter().any(|h| h["name"] == ""),
        "the default handler is missing: {handlers:?}"
    );
    let log = std::fs::read_to_string(cluster.log("kubelet")).unwrap();
    let driver = log
        .lines()
        .find(|l| l.contains("Using cgroup driver setting received from the CRI runtime"));
    assert!(
        driver.is_some_and(|l| l.contains("cgroupDriver=\"cgroupfs\"")),
        "kubelet did not take cricket's cgroup driver: {driver:?}"
    );
    let cidr = node["spec"]["podCIDR"].as_str().unwrap_or_default();
    assert_eq!(cidr, cluster.pod_cidr);
}

#[test]
fn a_runtime_class_of_runc_runs_its_pod_and_an_unknown_handler_fails_clearly() {
    let cluster = shared(options());
    let ns = cluster.namespace("classes");
    for (class, handler) in [("runc-class", "runc"), ("ghost-class", "no-such-handler")] {
        cluster.apply_json(&json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": class}, "handler": handler}));
    }
    for (pod, class) in [("with-runc", "runc-class"), ("with-ghost", "ghost-class")] {
        let mut p = shell_pod(&cluster, &ns, pod, "exec sleep 3600");
        p["spec"]["runtimeClassName"] = json!(class);
        cluster.apply_json(&p);
    }
    cluster.wait_pod_ready(&ns, "with-runc");
    let deadline = Instant::now() + Duration::from_secs(60);
    let failure = loop {
        let events = cluster.events(&ns, "with-ghost");
        if let Some(e) = events.iter().find(|e| e.starts_with("FailedCreatePodSandBox")) {
            break e.clone();
        }
        assert!(Instant::now() < deadline, "no FailedCreatePodSandBox event: {events:?}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(failure.contains("no-such-handler"), "the event does not name the handler: {failure}");
    assert_eq!(cluster.pod(&ns, "with-ghost")["status"]["phase"], "Pending");
    for class in ["runc-class", "ghost-class"] {
        cluster.kubectl_ok(&["delete", "runtimeclass", class]);
    }
}

/// How many times the registry was asked for a manifest of `repo`.
fn manifest_requests(cluster: &Cluster, repo: &str) -> usize {
    cluster.node.registry().count_requests("GET", &format!("/v2/{repo}/manifests/"))
}

#[test]
fn pull_policies_always_and_if_not_present_are_kept() {
    let cluster = shared(options());
    let ns = cluster.namespace("policies");
    let image = cluster.node.registry().push(&e2e::test_images::app_image(), "e2e/policy", "1");
    let pod = |name: &str, policy: &str| {
        let mut p = shell_pod(&cluster, &ns, name, "exec sleep 3600");
        p["spec"]["containers"][0]["image"] = json!(image);
        p["spec"]["containers"][0]["imagePullPolicy"] = json!(policy);
        cluster.apply_json(&p);
        cluster.wait_pod_ready(&ns, name);
        manifest_requests(&cluster, "e2e/policy")
    };
    let first = pod("always-1", "Always");
    assert!(first >= 1, "the first pod's image was never fetched");
    assert_eq!(
        pod("if-not-present", "IfNotPresent"),
        first,
        "IfNotPresent asked the registry for an image the node holds"
    );
    assert!(pod("always-2", "Always") > first, "Always did not ask the registry again");
}

#[test]
fn kubelets_image_gc_removes_an_unused_image_through_cricket() {
    let cluster = shared(options());
    let ns = cluster.namespace("image-gc");
    // An image of its own (busybox and a layer no other image has), so no other pod uses it.
    use e2e::image_builder::{build, busybox_layer, random_layer, ImageOptions};
    let victim = build(&[busybox_layer(), random_layer(7, 1, 1000)], &ImageOptions::default());
    let image = cluster.node.registry().push(&victim, "e2e/gc-victim", "1");
    let mut p = shell_pod(&cluster, &ns, "user", "");
    p["spec"]["containers"][0]["image"] = json!(image);
    p["spec"]["containers"][0]["command"] = json!(["/bin/sleep", "3600"]);
    cluster.apply_json(&p);
    cluster.wait_pod_ready(&ns, "user");
    let held = |c: &Cluster| {
        c.node
            .containerd
            .ctr_ok("k8s.io", &["images", "ls", "-q"])
            .lines()
            .any(|l| l.contains("e2e/gc-victim"))
    };
    assert!(held(&cluster));
    cluster.kubectl_ok(&["-n", &ns, "delete", "pod", "user", "--wait=true"]);
    // kubelet's image GC passes come 5 minutes apart, the first after its start.
    cluster.wait("kubelet's image GC to remove the unused image", Duration::from_secs(400), |c| {
        !held(c)
    });
    let log = cluster.node.cricket_log_tail(usize::MAX);
    assert!(log.contains("RemoveImage"), "cricket never served RemoveImage");
    assert!(!held(&cluster), "the image is back");
}
