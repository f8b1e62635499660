//! Exec probes as kubelet runs them on a busy node: 20 pods with a `sleep` container each,
//! then 400 ExecSync calls of `sh -c 'test -d /'`, ten at a time, spread over the pods; on
//! cricket and on containerd's own CRI plugin, in one run. Prints the latency (p50, p99) and
//! the runtime's CPU per call: the daemons (cricket and containerd, or containerd with its
//! CRI plugin), every shim of its pods, and the `runc exec` runs the shims wait for.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench exec_probes

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::cri_client::CriClient;
use e2e::percentile::millis;
use e2e::proc_usage::{cpu_of, cpu_with_children, pids_with_args};
use e2e::side_by_side::SideBySide;
use e2e::NodeOptions;

const PODS: usize = 20;
const CALLS: usize = 400;
const AT_ONCE: usize = 10;

/// Starts a pod with a `sleep` container: (pod, container).
async fn sleeper(
    mut cri: CriClient,
    name: String,
    image: String,
    logs: PathBuf,
) -> (String, String) {
    let config = e2e::pods::kubelet_pod(&name, "probes", &logs);
    let req = RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() };
    let pod = cri.runtime.run_pod_sandbox(req).await.expect("RunPodSandbox").into_inner();
    let container = ContainerConfig {
        metadata: Some(ContainerMetadata { name: "sleeper".into(), attempt: 0 }),
        image: Some(ImageSpec { image, ..Default::default() }),
        command: vec!["sleep".into(), "1000".into()],
        log_path: "sleeper/0.log".into(),
        ..Default::default()
    };
    let req = CreateContainerRequest {
        pod_sandbox_id: pod.pod_sandbox_id.clone(),
        config: Some(container),
        sandbox_config: Some(config),
    };
    let id = cri.runtime.create_container(req).await.expect("CreateContainer").into_inner();
    let req = StartContainerRequest { container_id: id.container_id.clone() };
    cri.runtime.start_container(req).await.expect("StartContainer");
    (pod.pod_sandbox_id, id.container_id)
}

async fn remove(mut cri: CriClient, pod: String) {
    let req = StopPodSandboxRequest { pod_sandbox_id: pod.clone() };
    cri.runtime.stop_pod_sandbox(req).await.expect("StopPodSandbox");
    let req = RemovePodSandboxRequest { pod_sandbox_id: pod };
    cri.runtime.remove_pod_sandbox(req).await.expect("RemovePodSandbox");
}

/// What one runtime measured: each call's latency, and the CPU per call of its parts.
struct Figures {
    latencies: Vec<Duration>,
    cpu_per_call: Cpu,
}

/// CPU time: of the daemons (cricket and containerd, or containerd alone), the first of them
/// alone, of the shims themselves, and of the `runc` runs the shims waited for.
#[derive(Clone, Copy, Default)]
struct Cpu {
    daemons: Duration,
    first: Duration,
    shims: Duration,
    runc: Duration,
}

impl Cpu {
    fn total(&self) -> Duration {
        self.daemons + self.shims + self.runc
    }
}

/// The CPU so far of `daemons` and of the shims serving containerd at `address`.
fn runtime_cpu(daemons: &[i32], address: &Path) -> Cpu {
    let address = address.display().to_string();
    let shims = pids_with_args(&["-address", &address]);
    let shims_own: Duration = shims.iter().map(|pid| cpu_of(*pid)).sum();
    let shims_all: Duration = shims.iter().map(|pid| cpu_with_children(*pid)).sum();
    Cpu {
        daemons: daemons.iter().map(|pid| cpu_of(*pid)).sum(),
        first: cpu_of(daemons[0]),
        shims: shims_own,
        runc: shims_all.saturating_sub(shims_own),
    }
}

async fn probes(
    cri: &CriClient,
    image: &str,
    logs: &Path,
    daemons: &[i32],
    address: &Path,
) -> Figures {
    let started: Vec<_> = (0..PODS)
        .map(|i| {
            tokio::spawn(sleeper(cri.clone(), format!("probed-{i}"), image.into(), logs.into()))
        })
        .collect();
    let mut pods = Vec::new();
    for s in started {
        pods.push(s.await.expect("a pod"));
    }
    let before = runtime_cpu(daemons, address);
    let workers: Vec<_> = (0..AT_ONCE)
        .map(|w| {
            let (mut cri, containers) =
                (cri.clone(), pods.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>());
            tokio::spawn(async move {
                let mut took = Vec::new();
                for call in (w..CALLS).step_by(AT_ONCE) {
                    let req = ExecSyncRequest {
                        container_id: containers[call % containers.len()].clone(),
                        cmd: vec!["sh".into(), "-c".into(), "test -d /".into()],
                        timeout: 10,
                    };
                    let t0 = Instant::now();
                    let reply = cri.runtime.exec_sync(req).await.expect("ExecSync").into_inner();
                    took.push(t0.elapsed());
                    assert_eq!(reply.exit_code, 0, "the probe passes");
                }
                took
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.expect("a prober"));
    }
    let after = runtime_cpu(daemons, address);
    let per_call = |a: Duration, b: Duration| a.saturating_sub(b) / CALLS as u32;
    let cpu_per_call = Cpu {
        daemons: per_call(after.daemons, before.daemons),
        first: per_call(after.first, before.first),
        shims: per_call(after.shims, before.shims),
        runc: per_call(after.runc, before.runc),
    };
    for (pod, _) in pods {
        remove(cri.clone(), pod).await;
    }
    Figures { latencies, cpu_per_call }
}

fn main() {
    let options = NodeOptions { info_logs: true, ..Default::default() };
    SideBySide::bench(options, "10.196", |mut side| async move {
        let logs = side.node.ws.run("probe-logs");
        let daemons = [side.node.cricket().pid(), side.node.containerd.pid()];
        let address = side.node.containerd.address.clone();
        let ours = probes(&side.cricket, &side.image, &logs, &daemons, &address).await;
        let (pid, address) = (side.theirs.pid(), side.theirs.address.clone());
        let theirs = probes(&side.containerd, &side.image, &logs, &[pid], &address).await;
        println!("exec_probes: {PODS} pods, {CALLS} ExecSync `sh -c 'test -d /'`, {AT_ONCE} at a time, release build, 2 cores");
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        for (name, f) in [("cricket", &ours), ("containerd's CRI", &theirs)] {
            let c = f.cpu_per_call;
            println!(
                "  {name:17} p50 {:6.1} ms  p99 {:6.1} ms  runtime CPU per call {:5.2} ms \
                 (daemons {:5.2}, of which the first {:5.2}; shims {:5.2}, runc {:5.2})",
                millis(&f.latencies, 0.5),
                millis(&f.latencies, 0.99),
                ms(c.total()),
                ms(c.daemons),
                ms(c.first),
                ms(c.shims),
                ms(c.runc)
            );
        }
        let (a, b) = (ours.cpu_per_call, theirs.cpu_per_call);
        println!(
            "  ratio of CPU per call: {:.2} (without runc's: {:.2})   (goal <= 0.6)",
            ms(a.total()) / ms(b.total()),
            ms(a.daemons + a.shims) / ms(b.daemons + b.shims)
        );
        side.finish();
    });
}
