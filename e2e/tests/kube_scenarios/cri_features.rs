//! What kubelet 1.35–1.37 asks of the runtime, through kubectl: an image volume (whole and by
//! sub path), `supplementalGroupsPolicy: Strict`, and a container's own stop signal.

use containerd_bridge::oci_image::{build_image, layer_tar, Entry, ImageSpec};
use e2e::cluster::Cluster;
use serde_json::json;

use super::pod_spec;

fn volume_image() -> containerd_bridge::oci_image::BuiltImage {
    let layer = layer_tar(&[
        Entry::Dir { path: "data".into(), mode: 0o755 },
        Entry::File {
            path: "data/hello.txt".into(),
            mode: 0o644,
            data: b"hello from an image volume\n".to_vec(),
        },
    ])
    .unwrap();
    build_image(&ImageSpec::default(), vec![layer])
}

pub fn image_volume_strict_groups_and_a_stop_signal_reach_the_pods(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let reference = cluster.node.registry().push(&volume_image(), "e2e/volume", "1");

    // An image volume, mounted whole and by sub path.
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"],
            "volumeMounts": [{"name": "img", "mountPath": "/img"},
                             {"name": "img", "mountPath": "/sub", "subPath": "data"}]}]),
    );
    spec["volumes"] =
        json!([{"name": "img", "image": {"reference": reference, "pullPolicy": "IfNotPresent"}}]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "image-volume", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "image-volume");
    let read = cluster.sh(ns, "image-volume", "cat /img/data/hello.txt /sub/hello.txt");
    assert_eq!(read, "hello from an image volume\n".repeat(2));
    let refused =
        cluster.sh(ns, "image-volume", "touch /img/x 2>/dev/null && echo written || echo refused");
    assert_eq!(refused.trim(), "refused");

    // Strict supplemental groups: exactly the pod's, none from the image's /etc/group.
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"]}]),
    );
    spec["securityContext"] = json!({"runAsUser": 1000, "runAsGroup": 3000,
        "supplementalGroups": [4000], "supplementalGroupsPolicy": "Strict"});
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "strict", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "strict");
    assert_eq!(cluster.sh(ns, "strict", "id -G").trim(), "3000 4000");
    let user = cluster.wait_pod(ns, "strict", "the reported user", |p| {
        p["status"]["containerStatuses"][0]["user"]["linux"].as_object().cloned()
    });
    assert_eq!(user["supplementalGroups"], json!([3000, 4000]), "{user:?}");

    // A stop signal of the container's own: a failing liveness probe makes kubelet stop it,
    // and the trap that ran says which signal came.
    let script = "trap 'echo got-usr1 > /dev/termination-log; exit 42' USR1; \
                  trap 'echo got-term > /dev/termination-log; exit 43' TERM; \
                  touch /tmp/alive; while :; do sleep 0.1; done";
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox, "command": ["sh", "-c", script],
            "lifecycle": {"stopSignal": "SIGUSR1"},
            "livenessProbe": {"exec": {"command": ["cat", "/tmp/alive"]}, "periodSeconds": 1, "failureThreshold": 1}}]),
    );
    spec["os"] = json!({"name": "linux"});
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stop-signal", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "stop-signal");
    let reported = cluster.wait_pod(ns, "stop-signal", "the reported stop signal", |p| {
        p["status"]["containerStatuses"][0]["stopSignal"].as_str().map(String::from)
    });
    assert_eq!(reported, "SIGUSR1");
    cluster.sh(ns, "stop-signal", "rm /tmp/alive");
    let last = cluster.wait_pod(ns, "stop-signal", "the stopped container's state", |p| {
        p["status"]["containerStatuses"][0]["lastState"]["terminated"].as_object().cloned()
    });
    assert_eq!(
        (last["exitCode"].as_i64(), last["message"].as_str()),
        (Some(42), Some("got-usr1\n")),
        "{last:?}"
    );
}
