//! Container logs in the CRI format: a 40 000-character line split into 16 KiB partial
//! records and a final one, kubelet's rotation (rename, ReopenContainerLog) without a lost
//! line, and containers with stdin, with and without a tty (a tty's output is all stdout),
//! whose stdin stays open, also across a cricket SIGKILL.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

/// (stream, tag, text) of each record of a CRI log file.
fn records(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            (f[1].to_string(), f[2].to_string(), f.get(3).unwrap_or(&"").to_string())
        })
        .collect()
}

async fn node() -> Node {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_line_is_split_and_rotation_loses_nothing() {
    let node = node().await;
    let mut pod = Pod::start(&node, pod_config(&node, "logs")).await;
    let image = pod.image.clone();

    let (s, _) =
        pod.output_of(&node, shell(&image, "long", "printf '%40000s\\n' x; echo after"), 4).await;
    assert_eq!(s.exit_code, 0);
    let got = records(&node.ws.run("logs/long/0.log"));
    let shape: Vec<(&str, &str, usize)> =
        got.iter().map(|(s, t, x)| (s.as_str(), t.as_str(), x.len())).collect();
    assert_eq!(
        shape,
        [("stdout", "P", 16384), ("stdout", "P", 16384), ("stdout", "F", 7232), ("stdout", "F", 5)]
    );
    assert!(got[2].2.ends_with('x') && got[0].2.trim().is_empty());

    // Rotation as kubelet does it: rename, then ReopenContainerLog.
    let ticker = pod
        .run(shell(
            &image,
            "ticker",
            "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done",
        ))
        .await;
    let log = node.ws.run("logs/ticker/0.log");
    let rotated = node.ws.run("logs/ticker/0.log.1");
    e2e::eventually(Duration::from_secs(5), || async { (records(&log).len() >= 5).then_some(()) })
        .await
        .unwrap();
    std::fs::rename(&log, &rotated).unwrap();
    pod.cri
        .runtime
        .reopen_container_log(ReopenContainerLogRequest { container_id: ticker.clone() })
        .await
        .unwrap();
    assert!(
        log.exists(),
        "the new log file exists when ReopenContainerLog returns (kubelet's rotation relies on it)"
    );
    e2e::eventually(Duration::from_secs(5), || async { (records(&log).len() >= 5).then_some(()) })
        .await
        .expect("the new file fills");
    pod.cri
        .runtime
        .stop_container(StopContainerRequest { container_id: ticker.clone(), timeout: 0 })
        .await
        .unwrap();
    let ticks: Vec<u64> = records(&rotated)
        .into_iter()
        .chain(records(&log))
        .filter_map(|(_, _, t)| t.strip_prefix("tick ")?.parse().ok())
        .collect();
    assert!(
        ticks.iter().enumerate().all(|(i, t)| *t == i as u64),
        "no line lost or repeated across the rotation: {ticks:?}"
    );
    assert!(!records(&rotated).is_empty());

    let err = pod
        .cri
        .runtime
        .reopen_container_log(ReopenContainerLogRequest { container_id: ticker })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::FailedPrecondition,
        "a stopped container has no log to reopen"
    );
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tty_logs_as_stdout_and_its_stdin_stays_open_across_a_restart() {
    stdin_stays_open_across_a_restart(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_stdin_stays_open_across_a_restart_and_streams_stay_apart() {
    stdin_stays_open_across_a_restart(false).await;
}

async fn stdin_stays_open_across_a_restart(tty: bool) {
    let mut node = node().await;
    let mut pod = Pod::start(&node, pod_config(&node, "tty")).await;
    let mut c = shell(
        &pod.image.clone(),
        "console",
        "echo to-stderr >&2; read a; echo got:$a; read b; echo got:$b",
    );
    c.tty = tty;
    c.stdin = true;
    let stderr_line = if tty { "stdout:to-stderr" } else { "stderr:to-stderr" };
    let id = pod.run(c).await;
    let log = node.ws.run("logs/console/0.log");
    let fifo = node.ws.run(&format!("cricket/containers/{id}/stdin"));
    let text = |log: &Path| {
        records(log)
            .into_iter()
            .map(|(s, _, t)| format!("{s}:{}", t.trim_end_matches('\r')))
            .collect::<Vec<_>>()
    };
    e2e::eventually(Duration::from_secs(5), || async {
        text(&log).contains(&stderr_line.to_string()).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{stderr_line} (a tty has only stdout): {:?}", text(&log)));

    // Nobody writes yet: stdin stays open, so `read` waits rather than seeing EOF.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pod.status(&id).await.state, ContainerState::ContainerRunning as i32);
    let send = |line: &str| {
        let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        w.write_all(line.as_bytes()).unwrap();
    };
    send("one\n");
    e2e::eventually(Duration::from_secs(5), || async {
        text(&log).contains(&"stdout:got:one".to_string()).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("input reached the process: {:?}", text(&log)));

    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    send("two\n");
    node.cricket().start_again();
    node.wait_ready().await;
    pod.cri = node.client().await;
    let s = pod.wait_exited(&node, &id).await;
    assert_eq!(s.exit_code, 0, "stdin outlived cricket: {:?}", text(&log));
    assert!(text(&log).contains(&"stdout:got:two".to_string()), "{:?}", text(&log));
    pod.remove().await;
    node.finish();
}
