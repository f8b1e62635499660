//! Probes, lifecycle hooks and graceful termination.

use std::time::{Duration, Instant};

use e2e::cluster::Cluster;
use serde_json::json;

use super::pod_spec;

/// Readiness and liveness probes of each kind pass on healthy containers; a failing exec
/// liveness probe restarts its container again and again, and kubelet backs off. kubelet
/// computes its back-off from the finish times cricket reports: it starts a container killed
/// by its liveness probe again in the same sync, timing from the instance before, so its first
/// wait (10 s) falls between the third instance's finish and the fourth's start (a wrong finish
/// time, such as zero, makes it restart at once every time). That gap, as cricket reports its
/// ends, is what this checks of cricket. (Not kubelet's BackOff event, which its spam filter drops past a pod's 25th event,
/// nor its CrashLoopBackOff waiting state, which a status sync may never catch.)
pub fn probes_of_every_kind_work_and_a_failing_liveness_probe_restarts_with_backoff(
    cluster: &Cluster,
    ns: &str,
) {
    cluster.namespace(ns);
    let serve = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www";
    let healthy = json!({"name": "healthy", "image": cluster.busybox, "command": ["sh", "-c", serve],
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
        "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 2},
        "startupProbe": {"exec": {"command": ["cat", "/www/index.html"]}, "periodSeconds": 1}});
    // Healthy for its first 2 seconds only.
    let failing = json!({"name": "failing", "image": cluster.busybox,
        "command": ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600"],
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1},
        "readinessProbe": {"tcpSocket": {"port": 9999}, "periodSeconds": 1}});
    cluster.apply_json(
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probed", "namespace": ns},
        "spec": pod_spec(cluster, json!([healthy, failing]))}),
    );
    let ready_of =
        |pod: &serde_json::Value, c: &str| Cluster::container_status(pod, c)["ready"] == true;
    cluster.wait_pod(ns, "probed", "the healthy container to be ready", |p| {
        ready_of(p, "healthy").then_some(())
    });
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut pod = cluster.pod(ns, "probed");
    let restarts = |pod: &serde_json::Value| {
        Cluster::container_status(pod, "failing")["restartCount"].as_u64().unwrap_or(0)
    };
    // The running fourth instance and the third one's record, seen together; and the record
    // of each ended instance, by the restart count that followed it.
    let mut fourth_and_third = None;
    let mut ended = std::collections::BTreeMap::new();
    while (restarts(&pod) < 3 || fourth_and_third.is_none()) && Instant::now() < deadline {
        let status = Cluster::container_status(&pod, "failing");
        let (running, last) = (&status["state"]["running"], &status["lastState"]["terminated"]);
        if last.is_object() {
            ended.insert(restarts(&pod), last.clone());
        }
        if restarts(&pod) == 3 && running.is_object() && last.is_object() {
            fourth_and_third = Some((running.clone(), last.clone()));
        }
        assert!(
            !ready_of(&pod, "failing"),
            "a container whose readiness probe cannot pass is ready"
        );
        assert_eq!(
            Cluster::container_status(&pod, "healthy")["restartCount"],
            0,
            "the healthy container restarted"
        );
        std::thread::sleep(Duration::from_millis(300));
        pod = cluster.pod(ns, "probed");
    }
    let describe = || cluster.kubectl(&["-n", ns, "describe", "pod", "probed"]).1;
    assert!(
        restarts(&pod) >= 3,
        "the failing container restarted {} times\n{}",
        restarts(&pod),
        describe()
    );
    let (fourth, third) = fourth_and_third
        .unwrap_or_else(|| panic!("the fourth instance was never seen running\n{}", describe()));
    let time = |record: &serde_json::Value, field: &str| {
        let text = record[field].as_str().unwrap_or_default();
        humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("{field} {text:?}: {e}: {record}"))
    };
    // Every ended instance failed. A killed one reads SIGKILL after the grace period (sleep as
    // PID 1 ignores SIGTERM) and finished after it started. One killed instance is asked for,
    // not each: in one CI run an instance exited with 2 after its `sleep 2`, which is what
    // busybox sh returns when it cannot fork its next command.
    let records: Vec<String> = ended.values().map(|r| r.to_string()).collect();
    assert!(
        ended.values().all(|r| r["reason"] == "Error" && r["exitCode"].as_i64() != Some(0)),
        "an instance ended without failing: {records:#?}"
    );
    let killed = ended
        .values()
        .find(|r| r["exitCode"] == 137)
        .unwrap_or_else(|| panic!("no instance reads exit code 137: {records:#?}"));
    let lived = time(killed, "finishedAt").duration_since(time(killed, "startedAt"));
    assert!(
        lived.as_ref().is_ok_and(|d| *d >= Duration::from_secs(2)),
        "it lives 2 s and more, and finished {lived:?} after it started: {killed}"
    );
    // Both times are whole seconds, so the 10 s back-off shows as 10 s or more.
    let backed_off = time(&fourth, "startedAt").duration_since(time(&third, "finishedAt"));
    assert!(
        backed_off.as_ref().is_ok_and(|d| *d >= Duration::from_secs(10)),
        "kubelet backs off 10 s after the third death; the fourth instance started \
         {backed_off:?} after it: {third} {fourth}"
    );
    let events = cluster.events(ns, "probed").join("\n");
    assert!(events.contains("Liveness probe failed"), "{events}");
}

/// A postStart hook runs as the container starts; on deletion the preStop hook runs, then
/// the container gets SIGTERM, and SIGKILL only once the grace period is over.
pub fn hooks_run_and_the_grace_period_is_honoured(cluster: &Cluster, ns: &str) {
    cluster.namespace(ns);
    let record = cluster.dir.join(format!("grace-{ns}"));
    std::fs::create_dir_all(&record).unwrap();
    // On SIGTERM it notes the signal and keeps beating until it is killed.
    let script = "trap 'echo term >> /record/events; while true; do echo beat >> /record/events; sleep 1; done' TERM; \
                  while true; do sleep 1; done";
    let container = json!({"name": "c", "image": cluster.busybox, "command": ["sh", "-c", script],
        "lifecycle": {
            "postStart": {"exec": {"command": ["sh", "-c", "echo post-start > /tmp/started"]}},
            "preStop": {"exec": {"command": ["sh", "-c", "echo pre-stop >> /record/events"]}}
        },
        "volumeMounts": [{"name": "record", "mountPath": "/record"}]});
    let mut spec = pod_spec(cluster, json!([container]));
    spec["terminationGracePeriodSeconds"] = json!(6);
    spec["volumes"] = json!([{"name": "record", "hostPath": {"path": record.display().to_string(), "type": "Directory"}}]);
    cluster.apply_json(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "graceful", "namespace": ns}, "spec": spec}));
    cluster.wait_pod_ready(ns, "graceful");
    assert_eq!(cluster.sh(ns, "graceful", "cat /tmp/started").trim(), "post-start");
    let asked = Instant::now();
    cluster.kubectl_ok(&["-n", ns, "delete", "pod", "graceful", "--wait=true", "--timeout=60s"]);
    let took = asked.elapsed();
    let events = std::fs::read_to_string(record.join("events")).unwrap_or_default();
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.first(), Some(&"pre-stop"), "{events}");
    assert_eq!(lines.get(1), Some(&"term"), "{events}");
    let beats = lines.iter().filter(|l| **l == "beat").count();
    // The grace period is 6 s, the preStop hook's time included: at least 4 beats after SIGTERM.
    assert!(beats >= 4, "killed {beats} s after SIGTERM, before the grace period ended: {events}");
    assert!(took >= Duration::from_secs(5), "the pod went after {took:?}, inside its grace period");
    let _ = std::fs::remove_dir_all(&record);
}
