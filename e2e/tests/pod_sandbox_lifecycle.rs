//! Pod sandboxes across restarts, in numbers, with host networking, and when things fail.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use cricket::api::v1::*;
use e2e::node::NAMESPACE;
use e2e::{Node, NodeOptions};
use tonic::Code;

fn config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "e2e".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        // As kubelet sends for a pod without shareProcessNamespace.
        linux: e2e::pods::kubelet_linux(),
        ..Default::default()
    }
}

async fn run(
    cri: &mut e2e::cri_client::CriClient,
    config: PodSandboxConfig,
) -> Result<String, tonic::Status> {
    let req = RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() };
    Ok(cri.runtime.run_pod_sandbox(req).await?.into_inner().pod_sandbox_id)
}

async fn ip_and_state(cri: &mut e2e::cri_client::CriClient, id: &str) -> (String, i32) {
    let s = cri
        .runtime
        .pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose: false })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    (s.network.unwrap().ip, s.state)
}

async fn stop_and_remove_all(cri: &mut e2e::cri_client::CriClient) {
    let items = cri
        .runtime
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items;
    for p in items {
        cri.runtime
            .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: p.id.clone() })
            .await
            .unwrap();
        cri.runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: p.id })
            .await
            .unwrap();
    }
}

/// Nothing of a failed pod: no containerd container, no netns pin, no reserved IP.
fn assert_no_pod_left(node: &Node) {
    let (_, containers, _) = node.containerd.ctr(NAMESPACE, &["containers", "ls", "-q"]);
    assert!(containers.trim().is_empty(), "containers: {containers}");
    for kind in ["netns", "ipcns", "utsns"] {
        let pins: Vec<_> = std::fs::read_dir(node.ws.run("cricket").join(kind))
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        assert!(pins.is_empty(), "{kind} pins: {pins:?}");
    }
    let ips = node.reserved_ips();
    assert!(ips.is_empty(), "reserved IPs: {ips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_survive_sigterm_and_sigkill_of_cricket_with_their_ips() {
    let mut node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let a = run(&mut cri, config("a")).await.unwrap();
    let b = run(&mut cri, config("b")).await.unwrap();
    let before = [ip_and_state(&mut cri, &a).await, ip_and_state(&mut cri, &b).await];
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        node.cricket().signal_and_wait(signal, Duration::from_secs(15)).unwrap();
        node.cricket().start_again();
        node.wait_ready().await;
        let mut cri = node.client().await;
        let after = [ip_and_state(&mut cri, &a).await, ip_and_state(&mut cri, &b).await];
        assert_eq!(after, before, "same IPs, still READY after signal {signal}");
        let again = run(&mut cri, config("a")).await.expect("a retried RunPodSandbox");
        assert_eq!(again, a, "the name still belongs to its pod after a restart");
    }
    stop_and_remove_all(&mut node.client().await).await;
    assert_no_pod_left(&node);
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_pods_started_at_once_get_distinct_ips() {
    let node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.wait_ready().await;
    let runs = (0..20).map(|i| {
        let client = node.client();
        async move { run(&mut client.await, config(&format!("p{i}"))).await }
    });
    let ids: Vec<String> =
        futures::future::join_all(runs).await.into_iter().map(|r| r.unwrap()).collect();
    let mut cri = node.client().await;
    let mut ips = Vec::new();
    for id in &ids {
        let (ip, state) = ip_and_state(&mut cri, id).await;
        assert_eq!(state, PodSandboxState::SandboxReady as i32);
        ips.push(ip);
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 20, "{ips:?}");
    stop_and_remove_all(&mut cri).await;
    assert_no_pod_left(&node);
    node.finish();
}

fn with_namespaces(name: &str, options: NamespaceOption) -> PodSandboxConfig {
    let mut c = config(name);
    c.linux = Some(LinuxPodSandboxConfig {
        security_context: Some(LinuxSandboxSecurityContext {
            namespace_options: Some(options),
            ..Default::default()
        }),
        ..Default::default()
    });
    c
}

async fn verbose_info(cri: &mut e2e::cri_client::CriClient, id: &str) -> serde_json::Value {
    let reply = cri
        .runtime
        .pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose: true })
        .await
        .unwrap()
        .into_inner();
    serde_json::from_str(&reply.info["info"]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_network_pod_shares_the_nodes_network_namespace() {
    let node = Node::start(NodeOptions::default());
    node.wait_ready().await;
    let mut cri = node.client().await;
    // Sharing one PID namespace needs an init: this pod gets a pause process.
    let shared_pid = NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Pod as i32,
        ..Default::default()
    };
    let id = run(&mut cri, with_namespaces("host", shared_pid))
        .await
        .expect("no CNI config needed for host network");
    let info = verbose_info(&mut cri, &id).await;
    assert_eq!(info["pause"], true, "{info}");
    let pid = info["pid"].as_u64().unwrap();
    let pod_ns = std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap().ino();
    assert_eq!(pod_ns, std::fs::metadata("/proc/self/ns/net").unwrap().ino(), "the node's netns");
    assert_ne!(
        std::fs::metadata(format!("/proc/{pid}/ns/pid")).unwrap().ino(),
        std::fs::metadata("/proc/self/ns/pid").unwrap().ino()
    );

    // Without a shared PID namespace: no pause, only the pod's IPC namespace is pinned.
    let host_net = NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Container as i32,
        ..Default::default()
    };
    let id = run(&mut cri, with_namespaces("host2", host_net)).await.unwrap();
    let info = verbose_info(&mut cri, &id).await;
    assert_eq!(
        (&info["pause"], &info["pid"], &info["netns"], &info["utsns"]),
        (&false.into(), &0.into(), &"".into(), &"".into()),
        "{info}"
    );
    let ipc = std::fs::metadata(info["ipcns"].as_str().unwrap()).unwrap().ino();
    assert_ne!(
        ipc,
        std::fs::metadata("/proc/self/ns/ipc").unwrap().ino(),
        "the pod's own IPC namespace"
    );
    stop_and_remove_all(&mut cri).await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_leaves_nothing() {
    let node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let mut no_name = config("x");
    no_name.metadata.as_mut().unwrap().name.clear();
    let mut relative_logs = config("x");
    relative_logs.log_directory = "var/log/pods".into();
    let mut node_wide_sysctl = config("x");
    node_wide_sysctl.linux.as_mut().unwrap().sysctls =
        [("vm.swappiness".to_string(), "1".to_string())].into();
    let mut user_ns = config("x");
    let linux = user_ns.linux.get_or_insert_with(Default::default);
    let options = linux
        .security_context
        .get_or_insert_with(Default::default)
        .namespace_options
        .get_or_insert_with(Default::default);
    options.userns_options =
        Some(UserNamespace { mode: NamespaceMode::Pod as i32, ..Default::default() });
    for (c, handler, field) in [
        (user_ns, "", "userns_options"),
        (no_name, "", "config.metadata.name"),
        (relative_logs, "", "config.log_directory"),
        (node_wide_sysctl, "", "linux.sysctls[\"vm.swappiness\"]"),
        (config("x"), "kata", "runtime_handler"),
    ] {
        let err = cri
            .runtime
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(c),
                runtime_handler: handler.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    assert_no_pod_left(&node);
    run(&mut cri, config("x")).await.expect("the name was never taken");
    stop_and_remove_all(&mut cri).await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_leaves_nothing_and_the_name_reusable() {
    let node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.fake_plugin(
        "e2e-fail",
        r#"[ "$CNI_COMMAND" = ADD ] || exit 0
echo '{"cniVersion":"1.0.0","code":11,"msg":"e2e says no"}'
exit 1"#,
    );
    node.append_cni_plugin(serde_json::json!({ "type": "e2e-fail" }));
    node.wait_ready().await;
    let mut cri = node.client().await;
    let err = run(&mut cri, config("web")).await.unwrap_err();
    assert!(err.message().contains("e2e says no"), "the plugin's own message: {err}");
    assert_no_pod_left(&node);
    node.write_cni_config(); // without the failing plugin
    run(&mut cri, config("web")).await.expect("the name is reusable");
    stop_and_remove_all(&mut cri).await;
    node.finish();
}

/// Whether a live (not zombie) process has `marker` in its command line.
fn process_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_wrapper_plugin_ends_at_the_callers_deadline_and_leaves_nothing() {
    let node = Node::start(NodeOptions::default());
    node.write_cni_config();
    // A wrapper that leaves a child holding stdout, then exits: the ADD never answers.
    let marker = format!("e2e-hang-{}", node.ws.id);
    node.fake_plugin(
        "e2e-hang",
        &format!("[ \"$CNI_COMMAND\" = ADD ] || exit 0\nsh -c 'sleep 600; : {marker}' &\nexit 0"),
    );
    node.append_cni_plugin(serde_json::json!({ "type": "e2e-hang" }));
    node.wait_ready().await;
    let mut cri = node.client().await;
    let mut call = tonic::Request::new(RunPodSandboxRequest {
        config: Some(config("hung")),
        runtime_handler: String::new(),
    });
    call.set_timeout(Duration::from_secs(5));
    let started = std::time::Instant::now();
    let err = cri.runtime.run_pod_sandbox(call).await.unwrap_err();
    assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the call ended at its deadline, not with the plugin: {:?}",
        started.elapsed()
    );
    let gone = e2e::eventually(Duration::from_secs(10), || async {
        (!process_with(&marker)).then_some(())
    })
    .await;
    assert!(gone.is_some(), "no process of the plugin remains");

    node.write_cni_config(); // healthy again
    let retried = e2e::eventually(Duration::from_secs(20), || {
        let mut cri = cri.clone();
        async move { run(&mut cri, config("hung")).await.ok() }
    })
    .await;
    assert!(retried.is_some(), "the same pod name succeeds once the network is healthy");
    stop_and_remove_all(&mut cri).await;
    assert_no_pod_left(&node);
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cricket_killed_during_run_pod_sandbox_leaves_no_leak_after_restart() {
    let mut node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.fake_plugin(
        "e2e-slow",
        r#"cat > /dev/null
[ "$CNI_COMMAND" = ADD ] && sleep 5
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0"}'
exit 0"#,
    );
    node.append_cni_plugin(serde_json::json!({ "type": "e2e-slow" }));
    node.wait_ready().await;
    let mut cri = node.client().await;
    let pending = tokio::spawn(async move { run(&mut cri, config("web")).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    assert!(pending.await.unwrap().is_err());
    node.cricket().start_again();
    node.wait_ready().await;
    assert_no_pod_left(&node);
    node.write_cni_config();
    let mut cri = node.client().await;
    run(&mut cri, config("web")).await.expect("the name is reusable");
    stop_and_remove_all(&mut cri).await;
    // The plugin the killed cricket had started runs on (a SIGKILL does not reach children).
    let plugin_done = e2e::eventually(Duration::from_secs(10), || async {
        e2e::leaks::find_leaks(&["e2e-slow".to_string()]).is_empty().then_some(())
    });
    assert!(plugin_done.await.is_some());
    node.finish();
}
