//! Churn under SIGKILL: three clients run pods with a container each (mounting an image volume)
//! and stop and remove half of them, retrying every cut-off call with the same names as kubelet does, while 20 SIGKILLs
//! land at random moments on cricket, or on the containerd under it. Afterwards every pod and
//! container listed answers, CRI states agree with containerd's tasks, pod IPs are distinct and
//! no container lacks its pod; once everything is removed through the CRI, nothing is left.
//! On containerd 2.x every third pod has its own user namespace. The seed is printed: `CHAOS_SEED=<n>` replays a run, `CHAOS_RUNS=<n>` runs several in a row.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cricket::api::v1::*;
use e2e::cri_client::CriClient;
use e2e::node::NAMESPACE;
use e2e::test_images::busybox_image;
use e2e::workload::shell;
use e2e::{Node, NodeOptions};

const KILLS: usize = 20;
const CLIENTS: usize = 3;
/// Pods each client runs at most (half of them stopped and removed again).
const PODS_PER_CLIENT: usize = 12;
/// How long a call may keep failing across restarts before the run fails.
const RETRY_LIMIT: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, Debug)]
enum Victim {
    Cricket,
    Containerd,
}

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn between(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        Duration::from_millis(low_ms + self.next() % (high_ms - low_ms))
    }
}

fn seeds(runs: usize) -> Vec<u64> {
    if let Some(seed) = std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![seed];
    }
    let base =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64
            | 1;
    (0..runs as u64).map(|i| base.wrapping_add(i * 0x9e37_79b9)).collect()
}

/// Calls `f` until it succeeds; fails the run if it keeps failing for `RETRY_LIMIT`.
async fn retry<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + RETRY_LIMIT;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!("{what} kept failing for {RETRY_LIMIT:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn pod_config(template: &PodSandboxConfig, name: &str, with_pause: bool) -> PodSandboxConfig {
    let mut config = template.clone();
    config.metadata = Some(PodSandboxMetadata {
        name: name.into(),
        uid: format!("uid-{name}"),
        namespace: "e2e".into(),
        attempt: 0,
    });
    if with_pause {
        config.linux = Some(LinuxPodSandboxConfig::default()); // a shared PID namespace: a pause
    }
    config
}

/// `config` with a user namespace of its own, mapped to the node's 65536 IDs from `base`.
fn with_user_namespace(mut config: PodSandboxConfig, base: u32) -> PodSandboxConfig {
    let map = IdMapping { host_id: base, container_id: 0, length: 65536 };
    let linux = config.linux.get_or_insert_with(Default::default);
    let sc = linux.security_context.get_or_insert_with(Default::default);
    sc.namespace_options.get_or_insert_with(Default::default).userns_options =
        Some(UserNamespace { mode: NamespaceMode::Pod as i32, uids: vec![map], gids: vec![map] });
    config
}

/// One kubelet-like client: runs its pods one after another until told to stop.
async fn churn(
    cri: CriClient,
    template: PodSandboxConfig,
    client: usize,
    image: String,
    done: Arc<AtomicBool>,
) {
    for i in 0..PODS_PER_CLIENT {
        if done.load(Ordering::SeqCst) {
            break;
        }
        let mut config = pod_config(&template, &format!("c{client}-p{i}"), i % 3 == 0);
        if i % 3 == 1 && e2e::backend::Backend::current() == e2e::backend::Backend::Built2 {
            config =
                with_user_namespace(config, 65536 * (500 + (client * PODS_PER_CLIENT + i) as u32));
        }
        let run =
            RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() };
        let pod = retry("RunPodSandbox", || {
            let (mut cri, run) = (cri.clone(), run.clone());
            async move { Ok(cri.runtime.run_pod_sandbox(run).await?.into_inner().pod_sandbox_id) }
        })
        .await;
        let container = retry("CreateContainer", || {
            let (mut cri, pod, config, image) =
                (cri.clone(), pod.clone(), config.clone(), image.clone());
            async move {
                // A create cut off by a kill may have finished: look first, as kubelet's relist would.
                let filter = ContainerFilter { pod_sandbox_id: pod.clone(), ..Default::default() };
                let listed = cri
                    .runtime
                    .list_containers(ListContainersRequest { filter: Some(filter) })
                    .await?
                    .into_inner()
                    .containers;
                if let Some(c) = listed
                    .into_iter()
                    .find(|c| c.metadata.as_ref().is_some_and(|m| m.name == "work"))
                {
                    return Ok(c.id);
                }
                // With an image volume: a view snapshot and a mount that a kill must not leak.
                let mut work = shell(&image, "work", "sleep 3600");
                work.mounts = vec![Mount {
                    container_path: "/vol".into(),
                    image: Some(ImageSpec { image: image.clone(), ..Default::default() }),
                    readonly: true,
                    ..Default::default()
                }];
                let req = CreateContainerRequest {
                    pod_sandbox_id: pod,
                    config: Some(work),
                    sandbox_config: Some(config),
                };
                Ok(cri.runtime.create_container(req).await?.into_inner().container_id)
            }
        })
        .await;
        retry("StartContainer", || {
            let (mut cri, id) = (cri.clone(), container.clone());
            async move {
                let status = cri
                    .runtime
                    .container_status(ContainerStatusRequest {
                        container_id: id.clone(),
                        verbose: false,
                    })
                    .await?;
                let state = status.into_inner().status.map(|s| s.state).unwrap_or_default();
                if state == ContainerState::ContainerCreated as i32 {
                    cri.runtime.start_container(StartContainerRequest { container_id: id }).await?;
                }
                Ok(())
            }
        })
        .await;
        if i % 2 == 1 {
            remove_pod(&cri, &pod).await;
        }
    }
}

async fn remove_pod(cri: &CriClient, pod: &str) {
    retry(&format!("StopPodSandbox {pod}"), || {
        let mut cri = cri.clone();
        let pod_sandbox_id = pod.to_string();
        async move {
            cri.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id }).await.map(|_| ())
        }
    })
    .await;
    retry(&format!("RemovePodSandbox {pod}"), || {
        let mut cri = cri.clone();
        let pod_sandbox_id = pod.to_string();
        async move {
            cri.runtime
                .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id })
                .await
                .map(|_| ())
        }
    })
    .await;
}

/// Lands the kills, each at a random moment, and brings the victim back each time.
async fn kill_repeatedly(node: &mut Node, victim: Victim, rng: &mut Rng) {
    for _ in 0..KILLS {
        tokio::time::sleep(rng.between(150, 1200)).await;
        match victim {
            Victim::Cricket => {
                node.cricket()
                    .signal_and_wait(libc::SIGKILL, Duration::from_secs(10))
                    .expect("cricket dies");
                node.cricket().start_again();
            }
            Victim::Containerd => {
                node.containerd.kill();
                tokio::time::sleep(rng.between(10, 600)).await;
                node.containerd.start_again();
            }
        }
    }
}

/// containerd's tasks: ID to status (RUNNING, STOPPED, CREATED, ...).
fn tasks(node: &Node) -> HashMap<String, String> {
    let out = node.containerd.ctr_ok(NAMESPACE, &["tasks", "ls"]);
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3).then(|| (f[0].to_string(), f[2].to_string()))
        })
        .collect()
}

/// The differences between what cricket says and what containerd's tasks say.
async fn disagreements(node: &Node, cri: &mut CriClient) -> Result<Vec<String>, tonic::Status> {
    let tasks = tasks(node);
    let mut problems = Vec::new();
    let pods = cri
        .runtime
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await?
        .into_inner()
        .items;
    let pod_ids: HashSet<&str> = pods.iter().map(|p| p.id.as_str()).collect();
    let mut ips = HashMap::new();
    for p in &pods {
        let req = PodSandboxStatusRequest { pod_sandbox_id: p.id.clone(), verbose: true };
        let reply = cri.runtime.pod_sandbox_status(req).await?.into_inner();
        let status = reply.status.unwrap_or_default();
        let ip = status.network.map(|n| n.ip).unwrap_or_default();
        if status.state == PodSandboxState::SandboxReady as i32 && !ip.is_empty() {
            if let Some(other) = ips.insert(ip.clone(), p.id.clone()) {
                problems.push(format!("pods {other} and {} share the IP {ip}", p.id));
            }
        }
        let pause: serde_json::Value =
            serde_json::from_str(reply.info.get("info").map(String::as_str).unwrap_or("{}"))
                .unwrap_or_default();
        if pause["pause"] == true {
            let running = tasks.get(&p.id).is_some_and(|s| s == "RUNNING");
            let ready = status.state == PodSandboxState::SandboxReady as i32;
            if ready != running {
                problems.push(format!(
                    "pod {}: ready {ready}, pause task {:?}",
                    p.id,
                    tasks.get(&p.id)
                ));
            }
        }
    }
    let containers = cri
        .runtime
        .list_containers(ListContainersRequest { filter: None })
        .await?
        .into_inner()
        .containers;
    for c in &containers {
        if !pod_ids.contains(c.pod_sandbox_id.as_str()) {
            problems.push(format!("container {} lacks its pod {}", c.id, c.pod_sandbox_id));
        }
        let status = cri
            .runtime
            .container_status(ContainerStatusRequest { container_id: c.id.clone(), verbose: false })
            .await?
            .into_inner()
            .status
            .unwrap_or_default();
        let running = status.state == ContainerState::ContainerRunning as i32;
        let task = tasks.get(&c.id);
        if running != task.is_some_and(|s| s == "RUNNING") {
            problems.push(format!("container {}: CRI state {}, task {task:?}", c.id, status.state));
        }
    }
    Ok(problems)
}

/// cricket's log lines above debug that name an ID the problems name.
fn log_about(node: &Node, problems: &[String]) -> String {
    let ids: HashSet<&str> =
        problems.iter().flat_map(|p| p.split([' ', '/'])).filter(|w| w.len() == 64).collect();
    let log = std::fs::read_to_string(node.ws.run("cricket.log")).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            !l.contains(" DEBUG ") && !l.contains(" TRACE ") && ids.iter().any(|id| l.contains(id))
        })
        .collect();
    format!("cricket's log about them:\n{}", lines[lines.len().saturating_sub(80)..].join("\n"))
}

fn assert_nothing_left(node: &Node) {
    let ctr = |args: &[&str]| node.containerd.ctr_ok(NAMESPACE, args);
    assert!(
        ctr(&["containers", "ls", "-q"]).trim().is_empty(),
        "containerd containers: {}",
        ctr(&["containers", "ls"])
    );
    assert!(
        ctr(&["tasks", "ls", "-q"]).trim().is_empty(),
        "containerd tasks: {}",
        ctr(&["tasks", "ls"])
    );
    let active: Vec<String> = ctr(&["snapshots", "ls"])
        .lines()
        .filter(|l| l.contains("Active") || l.contains("View"))
        .map(String::from)
        .collect();
    assert!(active.is_empty(), "active snapshots and views: {active:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    // containerd's shims mount the image's layers idmapped under /tmp while they mount a
    // user-namespaced pod's rootfs; the mount's root names this node's snapshots.
    let ours = format!("cricket-e2e-{}/", node.ws.id);
    let idmapped: Vec<&str> =
        mounts.lines().filter(|l| l.contains("/ovl-idmapped") && l.contains(&ours)).collect();
    assert!(idmapped.is_empty(), "temporary idmapped layer mounts: {idmapped:?}");
    let state = node.ws.run("cricket").display().to_string();
    let volumes: Vec<&str> =
        mounts.lines().filter(|l| l.contains(&state) && l.contains("image-volumes")).collect();
    assert!(volumes.is_empty(), "image volume mounts: {volumes:?}");
    let ips = node.reserved_ips();
    assert!(ips.is_empty(), "reserved IPs: {ips:?}");
    for dir in [
        node.ws.lib("cricket").join("sandboxes"),
        node.ws.lib("cricket").join("containers"),
        node.ws.run("cricket").join("containers"),
    ] {
        let left: Vec<_> =
            std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "files left under {}: {left:?}", dir.display());
    }
    for kind in ["netns", "ipcns", "utsns", "userns"] {
        let pins: Vec<_> = std::fs::read_dir(node.ws.run("cricket").join(kind))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(pins.is_empty(), "{kind} pins: {pins:?}");
    }
}

async fn chaos(victim: Victim) {
    let runs = std::env::var("CHAOS_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    for seed in seeds(runs) {
        println!(
            "chaos: {victim:?} killed {KILLS} times, seed {seed} (CHAOS_SEED={seed} replays it)"
        );
        one_run(victim, seed).await;
    }
}

async fn one_run(victim: Victim, seed: u64) {
    let mut rng = Rng(seed);
    let mut node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let image = node.registry().push(&busybox_image(), "e2e/busybox", "1");
    node.client().await.pull(&image, None).await.unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let (cri, template) = (node.client().await, e2e::workload::pod_config(&node, "template"));
    let clients = futures::future::join_all(
        (0..CLIENTS).map(|c| churn(cri.clone(), template.clone(), c, image.clone(), done.clone())),
    );
    let killer = async {
        kill_repeatedly(&mut node, victim, &mut rng).await;
        done.store(true, Ordering::SeqCst);
    };
    tokio::join!(clients, killer);
    node.wait_ready().await;

    let mut cri = node.client().await;
    let settled = e2e::eventually(Duration::from_secs(30), || {
        let (node, mut cri) = (&node, cri.clone());
        async move { disagreements(node, &mut cri).await.ok().filter(Vec::is_empty) }
    })
    .await;
    if settled.is_none() {
        let problems = disagreements(&node, &mut cri).await.unwrap_or_else(|e| vec![e.to_string()]);
        panic!(
            "seed {seed}: cricket and containerd disagree: {problems:?}\n{}",
            log_about(&node, &problems)
        );
    }
    let pods = cri
        .runtime
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(!pods.is_empty(), "seed {seed}: some pods were kept running");
    for p in pods {
        remove_pod(&cri, &p.id).await;
    }
    assert_nothing_left(&node);
    // A shim exits a moment after its last task is deleted; one that cannot (containerd was
    // killed before it shut the shim down) goes at cricket's next sweep.
    let ours = [node.containerd.address.display().to_string()];
    let gone = e2e::eventually(Duration::from_secs(45), || async {
        e2e::leaks::find_leaks(&ours).is_empty().then_some(())
    })
    .await;
    if gone.is_none() {
        let shims = e2e::leaks::find_leaks(&ours);
        panic!("seed {seed}: shims and loggers left: {shims:#?}\n{}", log_about(&node, &shims));
    }
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_churn_while_cricket_is_killed_at_random_moments() {
    chaos(Victim::Cricket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_churn_while_containerd_is_killed_at_random_moments() {
    chaos(Victim::Containerd).await;
}
