//! kubectl logs, exec, attach, port-forward and cp: kubectl → API server → kubelet → cricket.

use std::io::{BufRead, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use e2e::cluster::Cluster;
use serde_json::json;

use super::{pod_spec, shell_pod};
use e2e::process::run_with_input;

/// How kubectl reaches the API server: WebSocket (kubectl 1.37's default), or SPDY.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transport {
    WebSocket,
    Spdy,
}

fn kubectl(cluster: &Cluster, transport: Transport, args: &[&str]) -> Command {
    let mut cmd = cluster.kubectl_command();
    let websockets = if transport == Transport::WebSocket { "true" } else { "false" };
    cmd.env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets)
        .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets)
        .args(args);
    cmd
}

/// The lines `child` prints, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits up to `limit` for a line that satisfies `want`.
fn await_line(
    rx: &mpsc::Receiver<String>,
    limit: Duration,
    want: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = std::time::Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if want(&line) => return Some(line),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Every streaming command of kubectl works over `transport`, with `port` free for
/// port-forward in the cluster's network namespace.
pub fn kubectl_streaming_commands_work(
    cluster: &Cluster,
    ns: &str,
    transport: Transport,
    port: u16,
) {
    cluster.namespace(ns);
    // The first run fails after one line; the second ticks.
    let talker = "n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; echo run-$n; \
                  [ $n -eq 1 ] && exit 1; i=0; mkdir -p /www; echo served > /www/index.html; httpd -p 8080 -h /www; \
                  while true; do echo tick-$i; i=$((i+1)); sleep 1; done";
    let mut pod = shell_pod(cluster, ns, "talker", talker);
    pod["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "state", "mountPath": "/state"}]);
    pod["spec"]["volumes"] = json!([{"name": "state", "emptyDir": {}}]);
    cluster.apply_json(&pod);
    cluster.apply_json(
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "echoer", "namespace": ns},
        "spec": pod_spec(cluster, json!([{"name": "c", "image": cluster.busybox, "stdin": true,
            "command": ["sh", "-c", "while read l; do echo echo:$l; done"]}]))}),
    );
    cluster.wait_pod(ns, "talker", "the restarted container to run", |p| {
        let s = Cluster::container_status(p, "c");
        (s["restartCount"].as_u64() >= Some(1) && s["ready"] == true).then_some(())
    });

    // logs, logs -p, logs -f
    let out = |args: &[&str]| {
        let o = kubectl(cluster, transport, args).output().unwrap();
        assert!(o.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(out(&["-n", ns, "logs", "talker", "-p"]).trim(), "run-1");
    cluster.wait("the second run's ticks", Duration::from_secs(30), |_| {
        out(&["-n", ns, "logs", "talker"]).contains("tick-1")
    });
    assert!(out(&["-n", ns, "logs", "talker"]).starts_with("run-2\ntick-0\n"));
    let mut follow = kubectl(cluster, transport, &["-n", ns, "logs", "-f", "talker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut follow);
    let ticks_now =
        out(&["-n", ns, "logs", "talker"]).lines().filter(|l| l.starts_with("tick-")).count();
    let newer = await_line(&lines, Duration::from_secs(20), |l| {
        l.strip_prefix("tick-").and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n > ticks_now)
    });
    kill(follow);
    assert!(newer.is_some(), "logs -f followed no new line past tick-{ticks_now}");

    // exec -i (no tty), and exec -i -t under a pseudo-terminal; exit codes come back.
    let (code, stdout, stderr) = run_with_input(
        &mut kubectl(
            cluster,
            transport,
            &["-n", ns, "exec", "-i", "talker", "--", "sh", "-c", "read x; echo got-$x; exit 4"],
        ),
        "hello\n",
    );
    assert_eq!((code, stdout.as_str()), (Some(4), "got-hello\n"), "{stderr}");
    let line = format!(
        "{} -n {ns} exec -i -t talker -- sh -c 'tty >/dev/null && echo is-a-tty; read x; echo got-$x; exit 3'",
        shell_words(&kubectl(cluster, transport, &[]))
    );
    let mut script = cluster.command("script");
    script.args(["-q", "-e", "-c", &line, "/dev/null"]);
    for (k, v) in kubectl(cluster, transport, &[]).get_envs() {
        script.env(k, v.unwrap_or_default());
    }
    let (code, stdout, stderr) = run_with_input(&mut script, "tty-in\n");
    assert_eq!(code, Some(3), "exec -t exit code; {stdout} {stderr}");
    assert!(stdout.contains("is-a-tty") && stdout.contains("got-tty-in"), "{stdout:?} {stderr}");

    // attach -i: what is written reaches the container; what it prints comes back.
    let mut attach = kubectl(cluster, transport, &["-n", ns, "attach", "-i", "echoer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut attach);
    let mut stdin = attach.stdin.take().unwrap();
    let answered = (0..20).find_map(|_| {
        let _ = writeln!(stdin, "ping");
        await_line(&lines, Duration::from_millis(500), |l| l == "echo:ping")
    });
    drop(stdin);
    kill(attach);
    assert!(answered.is_some(), "attach -i: no echo came back");

    // port-forward to the pod's HTTP server.
    assert_eq!(port_forward_fetch(cluster, transport, ns, "talker", port, 8080), "served\n");

    // cp into and out of the pod.
    let local = cluster.dir.join(format!("cp-{ns}"));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    let target = format!("{ns}/talker:/tmp/copied");
    assert!(
        kubectl(cluster, transport, &["cp", &local.display().to_string(), &target])
            .status()
            .unwrap()
            .success(),
        "kubectl cp into the pod"
    );
    assert_eq!(cluster.sh(ns, "talker", "wc -c < /tmp/copied").trim(), data.len().to_string());
    let back = cluster.dir.join(format!("cp-{ns}-back"));
    assert!(
        kubectl(cluster, transport, &["cp", &target, &back.display().to_string()])
            .status()
            .unwrap()
            .success(),
        "kubectl cp out of the pod"
    );
    let mut copied = Vec::new();
    std::fs::File::open(&back).unwrap().read_to_end(&mut copied).unwrap();
    assert!(copied == data, "the file copied out differs from the one copied in");
    let _ = (std::fs::remove_file(local), std::fs::remove_file(back));
}

/// Fetches `/` from `remote` of `ns/pod` through `kubectl port-forward` on `port` of the
/// cluster's loopback.
pub fn port_forward_fetch(
    cluster: &Cluster,
    transport: Transport,
    ns: &str,
    pod: &str,
    port: u16,
    remote: u16,
) -> String {
    let mut forward = kubectl(
        cluster,
        transport,
        &["-n", ns, "port-forward", &format!("pod/{pod}"), &format!("{port}:{remote}")],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let lines = lines_of(&mut forward);
    let listening =
        await_line(&lines, Duration::from_secs(20), |l| l.starts_with("Forwarding from"));
    // Two connections through one forward.
    let fetched =
        listening.map(|_| (cluster.http_get_on_node(port), cluster.http_get_on_node(port)));
    kill(forward);
    let (first, second) = fetched.expect("port-forward never listened");
    assert_eq!(first, second, "two fetches through one forward differ");
    first
}

/// `cmd`'s program and arguments as one shell command line.
fn shell_words(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}
