//! ExecSync against real containers: output of both streams and the exit code, the
//! container's user and env, a timeout that holds (also with a background child keeping the
//! pipes open), output capped at 16 MiB, 20 at once, bad input, nothing left behind.

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::proc_usage::rss_kib;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

fn exec(id: &str, script: &str, timeout: i64) -> ExecSyncRequest {
    ExecSyncRequest {
        container_id: id.into(),
        cmd: vec!["/bin/sh".into(), "-c".into(), script.into()],
        timeout,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_sync_output_exit_timeouts_caps_and_concurrency() {
    let mut node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "execs")).await;
    let mut c = shell(&pod.image.clone(), "app", "sleep 1000");
    c.envs.push(KeyValue { key: "FROM_CONFIG".into(), value: "yes".into() });
    c.linux = Some(LinuxContainerConfig {
        security_context: Some(LinuxContainerSecurityContext {
            run_as_user: Some(Int64Value { value: 1000 }),
            ..Default::default()
        }),
        resources: None,
    });
    let id = pod.run(c).await;
    let rt = &mut pod.cri.runtime;

    let r = rt
        .exec_sync(exec(&id, "echo out; echo err >&2; id -u; echo $FROM_CONFIG; exit 3", 10))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.stdout.as_slice(), r.stderr.as_slice(), r.exit_code),
        (&b"out\n1000\nyes\n"[..], &b"err\n"[..], 3),
        "the container's user and env"
    );

    // The timeout holds: the process is killed and the call answers DeadlineExceeded.
    let t0 = Instant::now();
    let err = rt.exec_sync(exec(&id, "sleep 17", 1)).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    // Far below the 17 s the command would take (containerd 1.6 answers then); the slack is
    // for a loaded machine.
    assert!(t0.elapsed() < Duration::from_secs(5), "answered at the timeout: {:?}", t0.elapsed());
    let ps = rt.exec_sync(exec(&id, "ps", 10)).await.unwrap().into_inner();
    assert!(
        !String::from_utf8_lossy(&ps.stdout).contains("sleep 17"),
        "the timed-out process is gone: {}",
        String::from_utf8_lossy(&ps.stdout)
    );

    // A background child keeps the pipes open: the answer still comes at the timeout at the latest.
    let t0 = Instant::now();
    let r = rt.exec_sync(exec(&id, "sleep 30 & echo started", 2)).await.unwrap().into_inner();
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "at the timeout, not when the 30 s child ends: {:?}",
        t0.elapsed()
    );
    assert_eq!((r.stdout.as_slice(), r.exit_code), (&b"started\n"[..], 0));

    // 20 MiB on stdout: what fits in one 16 MiB reply is kept, cricket's memory back afterwards.
    let cricket = node.cricket().pid();
    let before = rss_kib(cricket);
    let r = rt.exec_sync(exec(&id, "head -c 20971520 /dev/zero", 30)).await.unwrap().into_inner();
    assert_eq!((r.stdout.len(), r.exit_code), ((16 << 20) - 4096, 0));
    assert!(r.stdout.iter().all(|b| *b == 0));
    drop(r);
    let after = rss_kib(cricket);
    assert!(
        after < before + 24 * 1024,
        "cricket's RSS after a 20 MiB exec: {before} KiB -> {after} KiB"
    );

    // 20 at once, each with its own answer.
    let calls = (0..20).map(|i| {
        let mut rt = rt.clone();
        let req = exec(&id, &format!("echo {i}; exit {i}"), 10);
        async move { rt.exec_sync(req).await.map(|r| r.into_inner()) }
    });
    for (i, r) in futures::future::join_all(calls).await.into_iter().enumerate() {
        let r = r.unwrap();
        assert_eq!((r.stdout, r.exit_code), (format!("{i}\n").into_bytes(), i as i32));
    }

    // Bad input.
    let err = rt.exec_sync(exec("nope", "true", 1)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = rt
        .exec_sync(ExecSyncRequest { container_id: id.clone(), cmd: vec![], timeout: 1 })
        .await
        .unwrap_err();
    assert!(err.code() == Code::InvalidArgument && err.message().contains("cmd"), "{err}");
    rt.stop_container(StopContainerRequest { container_id: id.clone(), timeout: 0 }).await.unwrap();
    let err = rt.exec_sync(exec(&id, "true", 1)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");

    // Nothing left: no exec FIFOs.
    let dir = node.ws.run("cricket/exec");
    let empty = e2e::eventually(Duration::from_secs(5), || async {
        std::fs::read_dir(&dir).map_or(true, |d| d.count() == 0).then_some(())
    })
    .await;
    assert!(empty.is_some(), "exec directories removed");
    pod.remove().await;
    node.finish();
}
