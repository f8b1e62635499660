//! Volumes, the downward API and securityContext, as seen from inside the container.

use e2e::cluster::Cluster;
use serde_json::json;

use super::pod_spec;

/// emptyDir (disk and memory), hostPath, configMap, secret, the projected service-account
/// token and the downward API are each mounted with their contents and modes.
pub fn every_volume_kind_is_mounted_with_its_contents_and_modes(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let host_dir = cluster.dir.join(format!("host-{ns}"));
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("from-host"), "host file\n").unwrap();
    cluster.kubectl_ok(&["-n", ns, "create", "configmap", "settings", "--from-literal=color=blue"]);
    cluster.kubectl_ok(&[
        "-n",
        ns,
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=password=s3cret",
    ]);
    let mounts = json!([
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "memory", "mountPath": "/memory"},
        {"name": "host", "mountPath": "/host"},
        {"name": "settings", "mountPath": "/settings"},
        {"name": "creds", "mountPath": "/creds"},
        {"name": "info", "mountPath": "/info"}
    ]);
    let env = json!([
        {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MY_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}}
    ]);
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"],
        "volumeMounts": mounts, "env": env, "resources": {"limits": {"memory": "64Mi"}}}]),
    );
    spec["volumes"] = json!([
        {"name": "scratch", "emptyDir": {}},
        {"name": "memory", "emptyDir": {"medium": "Memory"}},
        {"name": "host", "hostPath": {"path": host_dir.display().to_string(), "type": "Directory"}},
        {"name": "settings", "configMap": {"name": "settings", "defaultMode": 0o440}},
        {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}
    ]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "volumes", "namespace": ns, "labels": {"tier": "test"}}, "spec": spec}));
    cluster.wait_pod_ready(ns, "volumes");
    let sh = |script: &str| cluster.sh(ns, "volumes", script).trim().to_string();
    assert_eq!(sh("echo x > /scratch/f && cat /scratch/f"), "x");
    let mounts = sh("cat /proc/mounts");
    let fs_of = |dir: &str| {
        mounts
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(dir))
            .and_then(|l| l.split(' ').nth(2))
            .map(str::to_string)
    };
    assert_eq!(fs_of("/memory").as_deref(), Some("tmpfs"), "{mounts}");
    assert_ne!(fs_of("/scratch").as_deref(), Some("tmpfs"), "{mounts}");
    assert_eq!(sh("cat /host/from-host"), "host file");
    sh("echo from-pod > /host/from-pod");
    assert_eq!(std::fs::read_to_string(host_dir.join("from-pod")).unwrap().trim(), "from-pod");
    assert_eq!(sh("cat /settings/color; echo; stat -L -c %a /settings/color"), "blue\n440");
    assert_eq!(sh("cat /creds/password; echo; stat -L -c %a /creds/password"), "s3cret\n400");
    let token = sh("cat /var/run/secrets/kubernetes.io/serviceaccount/token");
    assert!(token.starts_with("ey") && token.split('.').count() == 3, "not a JWT: {token}");
    assert_eq!(sh("cat /var/run/secrets/kubernetes.io/serviceaccount/namespace"), ns);
    assert!(sh("cat /info/labels").contains("tier=\"test\""));
    let pod = cluster.pod(ns, "volumes");
    let ip = pod["status"]["podIP"].as_str().unwrap();
    assert_eq!(sh("echo $MY_POD $MY_IP $MY_LIMIT"), format!("volumes {ip} {}", 64 << 20));
    let _ = std::fs::remove_dir_all(&host_dir);
}

/// The pod's and container's securityContext take effect in the container.
pub fn security_context_settings_take_effect(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let security = json!({"runAsUser": 1000, "runAsGroup": 3000, "readOnlyRootFilesystem": true,
        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "seccompProfile": {"type": "RuntimeDefault"}});
    let mut spec = pod_spec(
        cluster,
        json!([{"name": "c", "image": cluster.busybox, "command": ["sleep", "3600"],
        "securityContext": security, "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]),
    );
    spec["securityContext"] = json!({"fsGroup": 2000});
    spec["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "secure", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "secure");
    let sh = |script: &str| cluster.sh(ns, "secure", script).trim().to_string();
    assert_eq!(sh("id -u; id -g"), "1000\n3000");
    assert!(
        sh("id -G").split_whitespace().any(|g| g == "2000"),
        "fsGroup is not a supplementary group"
    );
    assert_eq!(sh("stat -c %g /data"), "2000");
    assert_eq!(sh("touch /data/ok && echo written"), "written");
    assert_eq!(sh("touch /rootfs-file 2>/dev/null && echo written || echo refused"), "refused");
    let status = sh("cat /proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(field("NoNewPrivs:"), "1");
    assert_eq!(field("Seccomp:"), "2");
    // CAP_NET_BIND_SERVICE (bit 10) alone, in the bounding set; a non-root user has no
    // effective capabilities without ambient ones.
    assert_eq!(field("CapBnd:"), "0000000000000400");
    assert_eq!(field("CapEff:"), "0000000000000000");
}
