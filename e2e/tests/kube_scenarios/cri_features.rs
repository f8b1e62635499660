//! What kubelet 1.35–1.37 asks of the runtime, through kubectl: an image volume (whole and by
//! sub path), `supplementalGroupsPolicy: Strict`, a container's own stop signal, and a
//! checkpoint through kubelet's checkpoint API.

use containerd_bridge::oci_image::{build_image, layer_tar, Entry, ImageSpec};
use e2e::cluster::{Cluster, NODE_NAME};
use serde_json::json;

use super::{pod_spec, shell_pod};

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

/// kubelet's checkpoint API (the ContainerCheckpoint feature): a running container's archive
/// lands in kubelet's checkpoints directory, with CRIU's images in it, and the container
/// runs on.
pub fn kubelet_checkpoints_a_running_container(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let counter = "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.2; done";
    cluster.apply_json(&shell_pod(cluster, ns, "counted", counter));
    cluster.wait_pod_ready(ns, "counted");
    let body = cluster.dir.join(format!("checkpoint-{ns}.json"));
    std::fs::write(&body, "{}").unwrap();
    let path = format!("/api/v1/nodes/{NODE_NAME}/proxy/checkpoint/{ns}/counted/c");
    let reply = cluster.kubectl_ok(&["create", "--raw", &path, "-f", &body.display().to_string()]);
    let reply: serde_json::Value = serde_json::from_str(&reply).expect(&reply);
    let archive = std::path::PathBuf::from(reply["items"][0].as_str().expect("an archive path"));
    assert!(archive.starts_with(cluster.dir.join("kubelet").join("checkpoints")), "{reply}");
    let mut tar = tar::Archive::new(std::fs::File::open(&archive).expect("the archive"));
    let names: Vec<String> = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .map(|n| n.trim_start_matches("./").to_string())
        .collect();
    for wanted in ["checkpoint/", "config.dump", "spec.dump", "rootfs-diff.tar"] {
        assert!(names.iter().any(|n| n.starts_with(wanted)), "{wanted} in {names:?}");
    }
    let count = || cluster.sh(ns, "counted", "cat /count").trim().parse::<u64>().unwrap();
    let before = count();
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(count() > before, "the checkpointed container stopped counting");
    let _ = std::fs::remove_file(&archive);
    let _ = std::fs::remove_file(&body);
}

/// `hostUsers: false`: kubelet gives the pod a range of node IDs, the container's root is the
/// first of them, and kubelet's volumes (a ConfigMap, an emptyDir) reach it through idmapped
/// mounts as its own root's.
pub fn a_pod_without_host_users_gets_its_own_user_namespace(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "greeting", "namespace": ns}, "data": {"greeting": "hello"}}));
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"],
            "volumeMounts": [{"name": "cm", "mountPath": "/cm"}, {"name": "scratch", "mountPath": "/scratch"}]}]),
    );
    spec["hostUsers"] = json!(false);
    spec["volumes"] = json!([{"name": "cm", "configMap": {"name": "greeting"}},
                             {"name": "scratch", "emptyDir": {}}]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "userns", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "userns");
    let map = cluster.sh(ns, "userns", "cat /proc/self/uid_map");
    let fields: Vec<u64> = map.split_whitespace().map(|f| f.parse().unwrap()).collect();
    assert_eq!((fields[0], fields[2]), (0, 65536), "{map}");
    assert!(fields[1] >= 65536, "the container's root is not the node's: {map}");
    let seen = cluster.sh(
        ns,
        "userns",
        "id -u; cat /cm/greeting; echo; stat -c %u /cm/greeting; touch /scratch/x && stat -c %u /scratch/x",
    );
    assert_eq!(seen.split_whitespace().collect::<Vec<_>>(), ["0", "hello", "0", "0"], "{seen}");
}
