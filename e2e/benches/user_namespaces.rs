//! What a pod's own user namespace costs at start: RunPodSandbox + CreateContainer +
//! StartContainer of a busybox `sleep`, with and without `userns_options` mode POD, in
//! alternating rounds on containerd 2.x (the backend that makes them), release build. The
//! difference is the pinned user namespace (a forked child) and the idmapped mounts of the
//! image's layers.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench user_namespaces

use std::time::{Duration, Instant};

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell};
use e2e::{Node, NodeOptions};

const ROUNDS: usize = 20;
const LENGTH: u32 = 65536;

fn ms(v: &mut [Duration]) -> (f64, f64) {
    v.sort();
    (v[v.len() / 2].as_secs_f64() * 1e3, v[v.len() - 1].as_secs_f64() * 1e3)
}

fn main() {
    std::env::set_var(e2e::backend::VARIABLE, "2");
    std::env::set_var("CRICKET_BIN", e2e::workspace::cricket_release_binary());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let node = Node::start(NodeOptions { registry: true, info_logs: true, ..Default::default() });
        node.write_cni_config();
        node.wait_ready().await;
        let mut cri = node.client().await;
        let image = node.registry().push(&e2e::test_images::busybox_image(), "e2e/busybox", "1");
        cri.pull(&image, None).await.unwrap();
        let (mut plain, mut userns) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS * 2 {
            let own = round % 2 == 1;
            let mut config = pod_config(&node, &format!("pod-{round}"));
            if own {
                let map = IdMapping { host_id: LENGTH * (400 + round as u32), container_id: 0, length: LENGTH };
                let sc = config.linux.as_mut().unwrap().security_context.as_mut().unwrap();
                sc.namespace_options.as_mut().unwrap().userns_options = Some(UserNamespace {
                    mode: NamespaceMode::Pod as i32,
                    uids: vec![map],
                    gids: vec![map],
                });
            }
            let t0 = Instant::now();
            let req = RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() };
            let pod = cri.runtime.run_pod_sandbox(req).await.unwrap().into_inner().pod_sandbox_id;
            let create = CreateContainerRequest {
                pod_sandbox_id: pod.clone(),
                config: Some(shell(&image, "sleeper", "sleep 1000")),
                sandbox_config: Some(config),
            };
            let id = cri.runtime.create_container(create).await.unwrap().into_inner().container_id;
            cri.runtime.start_container(StartContainerRequest { container_id: id }).await.unwrap();
            if own { &mut userns } else { &mut plain }.push(t0.elapsed());
            let stop = StopPodSandboxRequest { pod_sandbox_id: pod.clone() };
            cri.runtime.stop_pod_sandbox(stop).await.unwrap();
            cri.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod }).await.unwrap();
        }
        let ((p50, max), (u50, umax)) = (ms(&mut plain), ms(&mut userns));
        println!("user_namespaces: release build, containerd 2.x, 2 cores, {ROUNDS} pods each, alternating");
        println!("  pod + container start, node's user namespace   p50 {p50:6.1} ms   max {max:6.1} ms");
        println!("  pod + container start, its own user namespace  p50 {u50:6.1} ms   max {umax:6.1} ms");
        println!("  cost of the user namespace (p50)               {:+6.1} ms", u50 - p50);
        node.finish();
    });
}
