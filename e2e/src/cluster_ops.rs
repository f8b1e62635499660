//! What tests do with a cluster through kubectl: objects as JSON, waiting for pods, exec, and
//! one cluster shared by the tests of a test binary.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{Cluster, ClusterOptions};

/// A cluster that the tests of one binary share, torn down (with its leak check) when the
/// last of them lets go of it.
pub struct SharedCluster(Option<Cluster>);

impl std::ops::Deref for SharedCluster {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        self.0.as_ref().unwrap()
    }
}

impl Drop for SharedCluster {
    fn drop(&mut self) {
        if let Some(cluster) = self.0.take() {
            if std::thread::panicking() {
                cluster.keep_logs();
                drop(cluster);
            } else {
                cluster.finish();
            }
        }
    }
}

static SHARED: Mutex<Weak<SharedCluster>> = Mutex::new(Weak::new());

/// The cluster the running tests of this binary share, started with `opts` by the first
/// test that asks (the tests of one binary all ask with the same options).
pub fn shared(opts: ClusterOptions) -> Arc<SharedCluster> {
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cluster) = slot.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(SharedCluster(Some(Cluster::start(opts))));
    *slot = Arc::downgrade(&cluster);
    cluster
}

impl Cluster {
    /// `kubectl get <args> -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl_ok(&all)).expect("kubectl prints JSON")
    }

    /// `kubectl apply` of an object given as JSON.
    pub fn apply_json(&self, object: &Value) {
        self.apply(&object.to_string());
    }

    /// A pod object, for `ns/name`.
    pub fn pod(&self, ns: &str, name: &str) -> Value {
        self.get_json(&["-n", ns, "get", "pod", name])
    }

    /// Waits until `ns/name` is Ready.
    pub fn wait_pod_ready(&self, ns: &str, name: &str) {
        self.wait_pod_condition(ns, name, "condition=Ready");
    }

    /// `kubectl wait --for=<condition>` on a pod (2 minutes at most), failing with the pod's
    /// events and the components' log tails.
    pub fn wait_pod_condition(&self, ns: &str, name: &str, condition: &str) {
        let (ok, _, err) = self.kubectl(&[
            "-n",
            ns,
            "wait",
            &format!("pod/{name}"),
            &format!("--for={condition}"),
            "--timeout=120s",
        ]);
        if !ok {
            let describe = self.kubectl(&["-n", ns, "describe", "pod", name]).1;
            panic!(
                "pod {ns}/{name} never reached {condition}: {err}\n{describe}\n{}",
                self.log_tails()
            );
        }
    }

    /// Polls a pod until `check` yields a value (2 minutes at most).
    pub fn wait_pod<T>(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        mut check: impl FnMut(&Value) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (ok, out, _) = self.kubectl(&["-n", ns, "get", "pod", name, "-o", "json"]);
            if let Some(v) =
                ok.then(|| serde_json::from_str(&out).ok()).flatten().and_then(|p: Value| check(&p))
            {
                return v;
            }
            if Instant::now() >= deadline {
                let describe = self.kubectl(&["-n", ns, "describe", "pod", name]).1;
                panic!(
                    "pod {ns}/{name}: timed out waiting for {what}\n{describe}\n{}",
                    self.log_tails()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `kubectl exec` of `command` in `ns/pod` (its first container unless `-c` is in
    /// `command`'s place): (exit code, stdout, stderr).
    pub fn exec(&self, ns: &str, pod: &str, command: &[&str]) -> (Option<i32>, String, String) {
        let out = self
            .kubectl_command()
            .args(["-n", ns, "exec", pod, "--"])
            .args(command)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run kubectl");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    /// `sh -c script` in `ns/pod`, which must succeed; its stdout.
    pub fn sh(&self, ns: &str, pod: &str, script: &str) -> String {
        let (code, out, err) = self.exec(ns, pod, &["sh", "-c", script]);
        assert_eq!(code, Some(0), "exec {script:?} in {ns}/{pod}: {err}{out}");
        out
    }

    /// The body of `GET /` from `address` (`ip:port`), fetched from inside `ns/pod` with
    /// busybox's nc (its wget needs name-service libraries a static busybox cannot load).
    pub fn http_get_in_pod(&self, ns: &str, pod: &str, address: &str) -> String {
        let (ip, port) = address.rsplit_once(':').expect("ip:port");
        let response =
            self.sh(ns, pod, &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {ip} {port}"));
        http_body(&response)
    }

    /// The body of `GET /` from `127.0.0.1:port` in the cluster's network namespace.
    pub fn http_get_on_node(&self, port: u16) -> String {
        let out = self
            .command("sh")
            .args([
                "-c",
                &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 127.0.0.1 {port}"),
            ])
            .output()
            .expect("run busybox nc");
        assert!(
            out.status.success(),
            "GET 127.0.0.1:{port}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        http_body(&String::from_utf8_lossy(&out.stdout))
    }

    /// The runtime's ID of container `container` of a pod (without the `cricket://` prefix).
    pub fn container_id(pod: &Value, container: &str) -> String {
        let statuses = pod["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
        let status = statuses
            .iter()
            .find(|s| s["name"] == container)
            .unwrap_or_else(|| panic!("no status of {container}: {pod}"));
        let id = status["containerID"].as_str().unwrap_or_default();
        id.split_once("://").map_or(id, |(_, id)| id).to_string()
    }

    /// The status of container `container` of a pod.
    pub fn container_status(pod: &Value, container: &str) -> Value {
        let statuses = pod["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
        statuses.into_iter().find(|s| s["name"] == container).unwrap_or(Value::Null)
    }

    /// The events that name `ns/object`, as "reason: message" lines.
    pub fn events(&self, ns: &str, object: &str) -> Vec<String> {
        let list = self.get_json(&[
            "-n",
            ns,
            "get",
            "events",
            &format!("--field-selector=involvedObject.name={object}"),
        ]);
        let items = list["items"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["reason"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// A file of the cgroup (the v1 hierarchy of `controller`, e.g. "memory") of a pod's
    /// container, on the host.
    pub fn container_cgroup_file(
        &self,
        pod: &Value,
        container: &str,
        controller: &str,
        file: &str,
    ) -> String {
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let id = Cluster::container_id(pod, container);
        let hierarchy = crate::kube_cgroups::v1_hierarchy_of(controller)
            .unwrap_or_else(|| panic!("no cgroup v1 hierarchy carries {controller}"));
        let base = hierarchy.join(self.cgroup_root().trim_start_matches('/')).join("kubepods");
        let pod_dir = format!("pod{uid}");
        let dir = [
            base.join(&pod_dir),
            base.join("burstable").join(&pod_dir),
            base.join("besteffort").join(&pod_dir),
        ]
        .into_iter()
        .find(|d| d.exists())
        .unwrap_or_else(|| panic!("no cgroup of pod {uid} under {}", base.display()));
        let path = dir.join(&id).join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    }
}

/// What follows the headers of an HTTP response.
fn http_body(response: &str) -> String {
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}
