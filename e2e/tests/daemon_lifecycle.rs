//! The daemon's life: containerd going away and back, signals, restarts, one instance per
//! socket, and bad configuration.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::cricket::{run_cricket, write_config, Cricket};
use e2e::node::NAMESPACE;
use e2e::workload::{pod_config, shell, Pod};
use e2e::workspace::Workspace;
use e2e::{eventually, Node, NodeOptions};

async fn runtime_ready(node: &Node) -> Option<RuntimeCondition> {
    let mut cri = node.client().await;
    let s = cri.runtime.status(StatusRequest { verbose: false }).await.ok()?.into_inner();
    s.status?.conditions.into_iter().find(|c| c.r#type == "RuntimeReady")
}

async fn wait_ready(node: &Node, want: bool) -> RuntimeCondition {
    eventually(Duration::from_secs(20), || async {
        runtime_ready(node).await.filter(|c| c.status == want)
    })
    .await
    .unwrap_or_else(|| panic!("RuntimeReady never became {want}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_ready_follows_containerd_without_restarting_cricket() {
    let mut node = Node::start(NodeOptions::default());
    let pid = node.cricket().pid();
    wait_ready(&node, true).await;
    // Someone removes the pause image; the next reconnection brings it back.
    let pause = format!("localhost/cricket/pause:{}", cricket::VERSION);
    let (ok, _, err) = node.containerd.ctr(NAMESPACE, &["images", "rm", &pause]);
    assert!(ok, "{err}");

    node.containerd.stop();
    let down = wait_ready(&node, false).await;
    assert_eq!(down.reason, "ContainerdUnreachable");
    assert!(down.message.contains("containerd.sock"), "{}", down.message);

    node.containerd.start_again();
    wait_ready(&node, true).await;
    let (_, images, _) = node.containerd.ctr(NAMESPACE, &["images", "ls", "-q"]);
    assert!(images.lines().any(|l| l == pause), "pause image re-imported on reconnect: {images}");
    assert!(node.cricket().is_running());
    assert_eq!(node.cricket().pid(), pid, "the same cricket process throughout");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cricket_started_before_containerd_serves_and_becomes_ready() {
    let mut node = Node::start(NodeOptions { without_cricket: true, ..Default::default() });
    node.containerd.stop();
    let config = write_config(&node.ws, &node.containerd.address, "");
    node.cricket = Some(Cricket::start(&node.ws, config));
    let down = wait_ready(&node, false).await;
    assert!(!down.message.is_empty());
    node.containerd.start_again();
    wait_ready(&node, true).await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero_and_a_new_cricket_serves_the_same_socket() {
    let mut node = Node::start(NodeOptions::default());
    wait_ready(&node, true).await;

    // A second cricket on the live socket refuses to start.
    let config = node.cricket().config_file.display().to_string();
    let (code, _, err) = run_cricket(&["serve", "--config", &config]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("another cricket is serving"), "{err}");

    // A container that runs while cricket stops must keep running.
    let pause = format!("localhost/cricket/pause:{}", cricket::VERSION);
    let id = format!("survivor-{}", node.ws.id);
    let (ok, _, err) = node.containerd.ctr(NAMESPACE, &["run", "-d", &pause, &id]);
    assert!(ok, "ctr run: {err}");

    let status = node
        .cricket()
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(15))
        .expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", node.cricket().log_text());
    let (_, tasks, _) = node.containerd.ctr(NAMESPACE, &["tasks", "ls"]);
    assert!(tasks.lines().any(|l| l.starts_with(&id) && l.contains("RUNNING")), "{tasks}");

    node.cricket().start_again();
    let mut cri = node.client().await;
    let v =
        cri.runtime.version(VersionRequest { version: "v1".into() }).await.unwrap().into_inner();
    assert_eq!(v.runtime_name, "cricket");
    let status = node
        .cricket()
        .signal_and_wait(libc::SIGINT, Duration::from_secs(15))
        .expect("exits after SIGINT");
    assert_eq!(status.code(), Some(0));
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_stale_socket_is_replaced_by_the_next_cricket() {
    let mut node = Node::start(NodeOptions::default());
    wait_ready(&node, true).await;
    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).expect("killed");
    let socket = node.ws.run("cricket.sock");
    assert!(socket.exists(), "kill -9 leaves the socket file behind");
    node.cricket().start_again();
    wait_ready(&node, true).await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_format_writes_one_json_object_per_line() {
    let mut node = Node::start(NodeOptions {
        extra_config: String::new(),
        without_cricket: true,
        registry: true,
        ..Default::default()
    });
    let insecure = format!("[images.registries.\"{}\"]\ninsecure = true\n", node.registry().host);
    let config = write_config(&node.ws, &node.containerd.address, &insecure);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("log_level = \"debug\"", "log_level = \"info\"\nlog_format = \"json\"");
    std::fs::write(&config, text).unwrap();
    node.cricket = Some(Cricket::start(&node.ws, config));
    node.write_cni_config();
    wait_ready(&node, true).await;
    let mut pod = Pod::start(&node, pod_config(&node, "logged")).await;
    let container = pod.run(shell(&pod.image.clone(), "app", "sleep 30")).await;
    let log = node.cricket().log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(
        lines.iter().all(|v| v.get("level").is_some() && v.get("timestamp").is_some()),
        "{log}"
    );
    assert!(log.contains("cricket is serving"));
    // The RPC's span names the pod and the container, whatever the event itself says.
    let in_span = |rpc: &str| {
        lines
            .iter()
            .find(|v| v["span"]["rpc"].as_str().is_some_and(|r| r.ends_with(rpc)))
            .map(|v| v["span"].clone())
    };
    let run = in_span("/RunPodSandbox")
        .unwrap_or_else(|| panic!("a line logged in RunPodSandbox: {log}"));
    assert_eq!(run["pod"], pod.id.as_str(), "{run}");
    let start = in_span("/StartContainer")
        .unwrap_or_else(|| panic!("a line logged in StartContainer: {log}"));
    assert_eq!(
        (start["pod"].as_str(), start["container"].as_str()),
        (Some(pod.id.as_str()), Some(container.as_str())),
        "{start}"
    );
    pod.remove().await;
    node.finish();
}

/// Runs `cricket serve` on `toml` and returns (exit code, stderr).
fn serve_with(ws: &Workspace, toml: &str) -> (Option<i32>, String) {
    let file = ws.run("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let (code, _, err) = run_cricket(&["serve", "--config", &file.display().to_string()]);
    (code, err)
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let ws = Workspace::new();
    let blocker = ws.run("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let listen = format!("listen = \"{}\"\n", ws.run("c.sock").display());
    let cases = [
        (format!("{listen}lisen = \"/x\""), "lisen"),
        (format!("{listen}[containerd]\nnamespace = 5"), "containerd.namespace"),
        (
            format!("{listen}[images]\nmax_concurrent_downloads = \"3\""),
            "images.max_concurrent_downloads",
        ),
        (format!("{listen}root_dir = \"relative/dir\""), "root_dir"),
        (format!("{listen}root_dir = \"{}/sub\"", blocker.display()), "root_dir"),
        (format!("{listen}[containerd]\ndefault_runtime = \"kata\""), "containerd.default_runtime"),
        (format!("{listen}log_format = \"xml\""), "log_format"),
        ("listen = [".to_string(), "bad.toml"),
    ];
    for (toml, key) in cases {
        let (code, err) = serve_with(&ws, &toml);
        assert_eq!(code, Some(2), "{toml:?} -> {err}");
        assert!(err.contains(key), "{toml:?}: message should name {key}: {err}");
    }
    let (code, _, err) =
        run_cricket(&["serve", "--config", &ws.run("missing.toml").display().to_string()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.toml"), "{err}");
    assert!(!ws.run("c.sock").exists(), "nothing was served");
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}

#[test]
fn cli_prints_its_version_and_the_default_config() {
    let (code, out, _) = run_cricket(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(cricket::VERSION), "{out}");
    let (code, out, _) = run_cricket(&["config", "default"]);
    assert_eq!(code, Some(0));
    for key in [
        "listen = \"/run/cricket/cricket.sock\"",
        "[containerd.runtimes.runc]",
        "sandbox_image = \"\"",
        "[streaming]",
    ] {
        assert!(out.contains(key), "default config lacks {key}");
    }
    let parsed = cricket::config::load_str(&out, std::path::Path::new("printed")).unwrap();
    assert_eq!(parsed, cricket::config::Config::default());
}

/// Under systemd (`Type=notify`), cricket says READY=1 once its socket answers and STOPPING=1
/// when a SIGTERM arrives; containerd need not be up for either.
#[test]
fn systemd_hears_ready_once_the_socket_answers_and_stopping_at_sigterm() {
    use std::os::unix::net::{UnixDatagram, UnixStream};
    let ws = Workspace::new();
    let config = write_config(&ws, &ws.run("no-containerd.sock"), "");
    let notify = UnixDatagram::bind(ws.run("notify.sock")).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let log = std::fs::File::create(ws.run("cricket.log")).unwrap();
    let mut cricket = std::process::Command::new(e2e::workspace::cricket_binary())
        .args(["serve", "--config", &config.display().to_string()])
        .env("NOTIFY_SOCKET", ws.run("notify.sock"))
        .stderr(log)
        .spawn()
        .unwrap();
    // A failed assertion must not leave it running.
    struct KillOnDrop(i32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
    let _guard = KillOnDrop(cricket.id() as i32);
    let mut buf = [0u8; 64];
    let n = notify.recv(&mut buf).expect("READY=1 within 20 s");
    assert_eq!(&buf[..n], b"READY=1");
    assert!(
        UnixStream::connect(ws.run("cricket.sock")).is_ok(),
        "the socket answers when systemd hears READY"
    );
    unsafe { libc::kill(cricket.id() as i32, libc::SIGTERM) };
    let n = notify.recv(&mut buf).expect("STOPPING=1 after SIGTERM");
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert!(cricket.wait().unwrap().success());
    for dir in [&ws.run_dir, &ws.lib_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
