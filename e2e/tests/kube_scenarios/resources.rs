//! CPU and memory limits in the container's cgroup, in-place resize, and OOM kills.

use e2e::cluster::Cluster;
use serde_json::json;

use super::pod_spec;

/// Limits land in the container's cgroup; a resize through the pod's `resize` subresource
/// reaches the cgroup (UpdateContainerResources) and the pod's status.
pub fn limits_land_in_the_cgroup_and_an_in_place_resize_reaches_it(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let resources = json!({"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "64Mi"}});
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sized", "namespace": ns},
        "spec": pod_spec(cluster, json!([{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"], "resources": resources}]))}));
    cluster.wait_pod_ready(ns, "sized");
    let pod = cluster.pod(ns, "sized");
    assert_eq!(
        cluster.container_cgroup_file(&pod, "c", "memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(cluster.container_cgroup_file(&pod, "c", "cpu", "cpu.cfs_quota_us"), "50000");
    let patch = json!({"spec": {"containers": [{"name": "c", "resources": {
        "requests": {"cpu": "700m", "memory": "96Mi"}, "limits": {"cpu": "700m", "memory": "96Mi"}}}]}});
    cluster.kubectl_ok(&[
        "-n",
        ns,
        "patch",
        "pod",
        "sized",
        "--subresource",
        "resize",
        "--patch",
        &patch.to_string(),
    ]);
    let pod = cluster.wait_pod(ns, "sized", "the resized limits in the status", |p| {
        let limits = &Cluster::container_status(p, "c")["resources"]["limits"];
        (limits["cpu"] == "700m" && limits["memory"] == "96Mi").then(|| p.clone())
    });
    assert_eq!(
        cluster.container_cgroup_file(&pod, "c", "memory", "memory.limit_in_bytes"),
        (96u64 << 20).to_string()
    );
    assert_eq!(cluster.container_cgroup_file(&pod, "c", "cpu", "cpu.cfs_quota_us"), "70000");
    assert_eq!(
        Cluster::container_status(&pod, "c")["restartCount"],
        0,
        "the resize restarted the container"
    );
}

/// A container that goes over its memory limit is OOM-killed and says so in its status.
pub fn a_container_over_its_memory_limit_is_oom_killed(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox,
        "command": ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=96M count=1"],
        "resources": {"limits": {"memory": "32Mi"}}}]),
    );
    spec["restartPolicy"] = json!("Never");
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hog", "namespace": ns}, "spec": spec}));
    let terminated = cluster.wait_pod(ns, "hog", "the container to be OOM-killed", |p| {
        let t = &Cluster::container_status(p, "c")["state"]["terminated"];
        (!t.is_null()).then(|| t.clone())
    });
    assert_eq!(terminated["reason"], "OOMKilled", "{terminated}");
    assert_eq!(terminated["exitCode"], 137, "{terminated}");
}
