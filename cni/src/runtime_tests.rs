//! The runtime against fake plugins: small shell scripts that record each call (stdin and the
//! CNI_* environment) and answer as a plugin would.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

const RECORD: &str = r#"#!/bin/sh
calls="$(dirname "$0")/../calls"
mkdir -p "$calls"
n=$(ls "$calls" | wc -l)
id=$(printf %03d "$n")-$(basename "$0")-$CNI_COMMAND
cat > "$calls/$id.json"
env | grep '^CNI_' | sort > "$calls/$id.env"
"#;

struct Fakes {
    dir: tempfile::TempDir,
}

impl Fakes {
    fn new() -> Fakes {
        let f = Fakes { dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir_all(f.bin()).unwrap();
        let ip = |addr: &str| {
            format!(
                r#"case "$CNI_COMMAND" in
ADD) echo '{{"cniVersion":"1.0.0","interfaces":[{{"name":"eth0","sandbox":"'"$CNI_NETNS"'"}}],"ips":[{{"address":"{addr}","interface":0}}]}}' ;;
VERSION) echo '{{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}}' ;;
esac"#
            )
        };
        f.plugin("first", &ip("10.99.0.7/24"));
        f.plugin("second", &ip("10.99.0.8/24"));
        f.plugin(
            "fail",
            r#"[ "$CNI_COMMAND" = ADD ] || exit 0
echo '{"cniVersion":"1.0.0","code":11,"msg":"no more addresses","details":"pool 10.99.0.0/24 exhausted"}'
exit 1"#,
        );
        f.plugin("slow", "sleep 10");
        f.plugin("garbage", r#"[ "$CNI_COMMAND" = ADD ] && echo 'this is not json'; exit 0"#);
        f.plugin(
            "stderr",
            r#"[ "$CNI_COMMAND" = ADD ] || exit 0
echo 'boom: bridge cni0 is down' >&2
exit 2"#,
        );
        f
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn plugin(&self, name: &str, body: &str) {
        let path = self.bin().join(name);
        std::fs::write(&path, format!("{RECORD}{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn runtime(&self, timeout: Duration) -> CniRuntime {
        CniRuntime::new(
            vec![PathBuf::from("/nonexistent"), self.bin()],
            self.dir.path().join("cache"),
            timeout,
        )
    }

    /// Recorded calls in order: (plugin, command, stdin JSON, CNI_* environment).
    fn calls(&self) -> Vec<(String, String, Value, String)> {
        let dir = self.dir.path().join("calls");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.retain(|n| n.ends_with(".json"));
        names.sort();
        names
            .iter()
            .map(|n| {
                let stem = n.trim_end_matches(".json");
                let mut parts = stem.splitn(3, '-').skip(1);
                let (plugin, command) =
                    (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
                let stdin = std::fs::read(dir.join(n)).unwrap();
                let env = std::fs::read_to_string(dir.join(format!("{stem}.env"))).unwrap();
                (plugin, command, serde_json::from_slice(&stdin).unwrap_or(Value::Null), env)
            })
            .collect()
    }
}

fn net(version: &str, plugins: Value) -> NetworkConfigList {
    let doc = json!({ "cniVersion": version, "name": "pods", "plugins": plugins });
    NetworkConfigList::parse_list(Path::new("test.conflist"), &serde_json::to_vec(&doc).unwrap())
        .unwrap()
}

fn pod() -> RuntimeConf {
    let mut rc = RuntimeConf::for_pod("c0ffee", "/run/netns/test", "default", "web", "uid-1");
    rc.capability_args = BTreeMap::from([(
        "portMappings".to_string(),
        json!([{ "hostPort": 8080, "containerPort": 80, "protocol": "tcp" }]),
    )]);
    rc
}

#[tokio::test]
async fn add_chains_prev_result_passes_declared_capabilities_and_caches() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net(
        "1.0.0",
        json!([{ "type": "first", "bridge": "br0" }, { "type": "second", "capabilities": { "portMappings": true } }]),
    );
    let result = cni.add(&list, &pod()).await.unwrap();
    assert_eq!(
        result.pod_ips(),
        ["10.99.0.8".parse::<std::net::IpAddr>().unwrap()],
        "the last plugin's result is the result"
    );

    let calls = fakes.calls();
    assert_eq!(
        calls.iter().map(|c| (c.0.as_str(), c.1.as_str())).collect::<Vec<_>>(),
        [("first", "ADD"), ("second", "ADD")]
    );
    let (first, second) = (&calls[0].2, &calls[1].2);
    assert_eq!(
        (first["name"].as_str(), first["cniVersion"].as_str(), first["bridge"].as_str()),
        (Some("pods"), Some("1.0.0"), Some("br0"))
    );
    assert!(
        first.get("prevResult").is_none() && first.get("runtimeConfig").is_none(),
        "first: {first}"
    );
    assert_eq!(second["prevResult"]["ips"][0]["address"], "10.99.0.7/24");
    assert_eq!(second["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
    let env = &calls[0].3;
    for line in [
        "CNI_COMMAND=ADD",
        "CNI_CONTAINERID=c0ffee",
        "CNI_NETNS=/run/netns/test",
        "CNI_IFNAME=eth0",
        "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=uid-1",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    assert!(env.contains(&format!("CNI_PATH=/nonexistent:{}", fakes.bin().display())));
    let cached = cni.cache().load("pods", "c0ffee", "eth0").unwrap().unwrap();
    assert_eq!(cached.result["ips"][0]["address"], "10.99.0.8/24");
}

#[tokio::test]
async fn del_runs_in_reverse_with_the_cached_result_and_tolerates_a_second_time() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net("1.0.0", json!([{ "type": "first" }, { "type": "second" }]));
    cni.add(&list, &pod()).await.unwrap();
    cni.del(&list, &pod()).await.unwrap();
    let calls = fakes.calls();
    let dels: Vec<_> = calls.iter().filter(|c| c.1 == "DEL").collect();
    assert_eq!(dels.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["second", "first"]);
    assert!(
        dels.iter().all(|c| c.2["prevResult"]["ips"][0]["address"] == "10.99.0.8/24"),
        "DEL gets the cached result"
    );
    assert!(cni.cache().load("pods", "c0ffee", "eth0").unwrap().is_none());
    cni.del(&list, &pod()).await.expect("a second DEL, with nothing cached, still succeeds");
}

#[tokio::test]
async fn del_as_added_uses_the_configuration_the_add_ran_with() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    // The conf dir may have changed since: the caller knows only the network's name.
    let list =
        net("1.0.0", json!([{ "type": "first", "marker": "as-added" }, { "type": "second" }]));
    cni.add(&list, &pod()).await.unwrap();
    assert!(cni.del_as_added("pods", &pod()).await.unwrap(), "a DEL ran");
    let calls = fakes.calls();
    let dels: Vec<_> = calls.iter().filter(|c| c.1 == "DEL").collect();
    assert_eq!(dels.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["second", "first"]);
    assert_eq!(dels[1].2["marker"], "as-added", "the first plugin's own config, from the cache");
    assert!(cni.cache().load("pods", "c0ffee", "eth0").unwrap().is_none());
    let ran = cni.del_as_added("pods", &pod()).await.expect("nothing cached: nothing to do");
    assert!(!ran);
    assert_eq!(fakes.calls().len(), calls.len(), "and no plugin runs");
}

#[tokio::test]
async fn a_failed_add_is_undone_and_reports_the_plugins_own_error() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net("1.0.0", json!([{ "type": "first" }, { "type": "fail" }]));
    let err = cni.add(&list, &pod()).await.unwrap_err();
    match &err {
        CniError::Plugin { plugin, code, msg, details, .. } => {
            assert_eq!((plugin.as_str(), *code, msg.as_str()), ("fail", 11, "no more addresses"));
            assert!(details.contains("exhausted"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("no more addresses"));
    let order: Vec<(String, String)> = fakes.calls().into_iter().map(|c| (c.0, c.1)).collect();
    let want = [("first", "ADD"), ("fail", "ADD"), ("fail", "DEL"), ("first", "DEL")];
    assert_eq!(order, want.map(|(p, c)| (p.to_string(), c.to_string())));
    assert!(cni.cache().load("pods", "c0ffee", "eth0").unwrap().is_none(), "nothing cached");
}

#[tokio::test]
async fn del_reaches_every_plugin_even_when_one_fails() {
    let fakes = Fakes::new();
    fakes.plugin(
        "faildel",
        r#"case "$CNI_COMMAND" in
ADD) echo '{"cniVersion":"1.0.0","ips":[{"address":"10.99.0.9/24"}]}' ;;
DEL) echo '{"cniVersion":"1.0.0","code":7,"msg":"cannot delete"}'; exit 1 ;;
esac"#,
    );
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net("1.0.0", json!([{ "type": "first" }, { "type": "faildel" }]));
    cni.add(&list, &pod()).await.unwrap();
    let err = cni.del(&list, &pod()).await.unwrap_err();
    assert!(err.to_string().contains("cannot delete"), "{err}");
    let dels: Vec<String> =
        fakes.calls().into_iter().filter(|c| c.1 == "DEL").map(|c| c.0).collect();
    assert_eq!(dels, ["faildel", "first"], "the first plugin still got its DEL");
    assert!(cni.cache().load("pods", "c0ffee", "eth0").unwrap().is_some(), "kept for the retry");
}

#[tokio::test]
async fn an_add_in_progress_is_recorded_so_it_can_be_deleted_after_a_crash() {
    let fakes = Fakes::new();
    fakes.plugin("hang", "sleep 10");
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net("1.0.0", json!([{ "type": "first" }, { "type": "hang" }]));
    // The daemon "dies" while the second plugin runs: the ADD future is dropped.
    let _ = tokio::time::timeout(Duration::from_millis(500), cni.add(&list, &pod())).await;
    let pending = cni
        .cache()
        .load("pods", "c0ffee", "eth0")
        .unwrap()
        .expect("recorded before the first plugin ran");
    assert!(pending.result.is_null());
    let rc = RuntimeConf::from_cached(&pending, "");
    assert_eq!(rc.cni_args(), pod().cni_args());
    fakes.plugin("hang", "exit 0");
    cni.del(&list, &rc).await.unwrap();
    let first_del = fakes
        .calls()
        .into_iter()
        .find(|c| c.0 == "first" && c.1 == "DEL")
        .expect("DEL reached the first plugin");
    assert!(first_del.2.get("prevResult").is_none(), "no result to pass");
    assert!(cni.cache().load("pods", "c0ffee", "eth0").unwrap().is_none());
}

#[tokio::test]
async fn a_hung_plugin_is_killed_at_the_timeout() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_millis(300));
    let started = Instant::now();
    let err = cni.add(&net("1.0.0", json!([{ "type": "slow" }])), &pod()).await.unwrap_err();
    assert!(matches!(err, CniError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ADD and its undo each stopped at the timeout"
    );
}

/// Whether a process whose command line holds `marker` still lives (zombies count as gone).
fn alive_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
    })
}

async fn gone_within(marker: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while alive_with(marker) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test]
async fn a_wrapper_plugins_children_go_at_the_timeout_and_when_the_caller_gives_up() {
    let fakes = Fakes::new();
    // A shell wrapper whose child holds stdout, as wrapper plugins' children do.
    let marker = format!("cni-hang-{}", std::process::id());
    fakes.plugin(
        "wrapper",
        &format!("[ \"$CNI_COMMAND\" = ADD ] || exit 0\nsh -c 'sleep 30; : {marker}' &\nwait"),
    );
    let cni = fakes.runtime(Duration::from_millis(500));
    let started = Instant::now();
    let err = cni.add(&net("1.0.0", json!([{ "type": "wrapper" }])), &pod()).await.unwrap_err();
    assert!(matches!(err, CniError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "no wait on the child's pipes");
    assert!(
        gone_within(&marker, Duration::from_secs(2)).await,
        "the plugin's child was killed at the timeout"
    );

    let patient = fakes.runtime(Duration::from_secs(60));
    let network = net("1.0.0", json!([{ "type": "wrapper" }]));
    let conf = pod();
    let add = patient.add(&network, &conf);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), add).await.is_err(),
        "the caller gave up"
    );
    assert!(
        gone_within(&marker, Duration::from_secs(2)).await,
        "the plugin's child was killed when the call was dropped"
    );
}

#[tokio::test]
async fn garbage_stderr_and_missing_plugins_are_typed_errors() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    let err = cni.add(&net("1.0.0", json!([{ "type": "garbage" }])), &pod()).await.unwrap_err();
    assert!(matches!(err, CniError::BadOutput { .. }), "{err:?}");
    let err = cni.add(&net("1.0.0", json!([{ "type": "stderr" }])), &pod()).await.unwrap_err();
    assert!(err.to_string().contains("boom: bridge cni0 is down"), "{err}");
    let err =
        cni.add(&net("1.0.0", json!([{ "type": "no-such-plugin" }])), &pod()).await.unwrap_err();
    assert!(
        matches!(&err, CniError::PluginNotFound { plugin, .. } if plugin == "no-such-plugin"),
        "{err:?}"
    );
}

#[tokio::test]
async fn check_uses_the_cache_and_is_skipped_where_the_spec_has_none() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net("1.0.0", json!([{ "type": "first" }]));
    assert!(matches!(cni.check(&list, &pod()).await, Err(CniError::NotCached(_))));
    cni.add(&list, &pod()).await.unwrap();
    cni.check(&list, &pod()).await.unwrap();
    let check = fakes.calls().into_iter().find(|c| c.1 == "CHECK").expect("CHECK ran");
    assert_eq!(check.2["prevResult"]["ips"][0]["address"], "10.99.0.7/24");
    cni.check(&net("0.3.1", json!([{ "type": "fail" }])), &pod())
        .await
        .expect("no CHECK before 0.4.0");
}

#[tokio::test]
async fn version_status_and_gc() {
    let fakes = Fakes::new();
    let cni = fakes.runtime(Duration::from_secs(10));
    let list = net("1.1.0", json!([{ "type": "first" }]));
    assert_eq!(cni.versions(&list, &list.plugins[0]).await.unwrap(), ["0.4.0", "1.0.0", "1.1.0"]);
    cni.status(&list).await.unwrap();
    let mut other = pod();
    other.container_id = "dead".into();
    cni.add(&list, &pod()).await.unwrap();
    cni.add(&list, &other).await.unwrap();
    cni.gc(&list, &[("c0ffee".to_string(), "eth0".to_string())]).await.unwrap();
    let gc = fakes.calls().into_iter().find(|c| c.1 == "GC").expect("GC ran for a 1.1 list");
    assert_eq!(
        gc.2["cni.dev/valid-attachments"],
        json!([{ "containerID": "c0ffee", "ifname": "eth0" }])
    );
    assert!(
        cni.cache().load("pods", "dead", "eth0").unwrap().is_none(),
        "the stale attachment's cache went"
    );
    assert!(cni.cache().load("pods", "c0ffee", "eth0").unwrap().is_some());
    assert!(fakes.calls().iter().any(|c| c.1 == "STATUS"));
}
