//! Pod sandboxes with the real bridge, host-local and portmap plugins on a private bridge and
//! subnet without masquerading.

use std::process::Command;

use e2e::node::NAMESPACE;
use e2e::registry::free_port;
use e2e::{Node, NodeOptions};
use k8s_cri::v1::*;
use tonic::Code;

fn pod_config(node: &Node, name: &str, host_port: i32) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata { name: name.into(), uid: format!("uid-{name}"), namespace: "e2e".into(), attempt: 0 }),
        hostname: format!("{name}-host"),
        log_directory: node.ws.run("logs").display().to_string(),
        labels: [("app".to_string(), name.to_string())].into(),
        dns_config: Some(DnsConfig { servers: vec!["10.96.0.10".into()], searches: vec!["e2e.svc.cluster.local".into()], options: vec!["ndots:5".into()] }),
        port_mappings: if host_port > 0 {
            vec![PortMapping { protocol: Protocol::Tcp as i32, container_port: 80, host_port, host_ip: String::new() }]
        } else {
            vec![]
        },
        linux: Some(LinuxPodSandboxConfig {
            sysctls: [("net.ipv4.ip_unprivileged_port_start".to_string(), "80".to_string())].into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn run(cri: &mut e2e::cri_client::CriClient, config: PodSandboxConfig) -> Result<String, tonic::Status> {
    let req = RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() };
    Ok(cri.runtime.run_pod_sandbox(req).await?.into_inner().pod_sandbox_id)
}

async fn status(cri: &mut e2e::cri_client::CriClient, id: &str) -> (PodSandboxStatus, serde_json::Value) {
    let reply = cri.runtime.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose: true }).await.unwrap().into_inner();
    let info = reply.info.get("info").map(|i| serde_json::from_str(i).unwrap()).unwrap_or_default();
    (reply.status.unwrap(), info)
}

fn in_pod(pid: u64, ns: &str, args: &[&str]) -> String {
    let out = Command::new("nsenter").args(["-t", &pid.to_string(), ns]).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn nat_rules() -> String {
    String::from_utf8_lossy(&Command::new("iptables-save").args(["-t", "nat"]).output().unwrap().stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_runs_ready_with_its_network_then_stops_and_goes_away_completely() {
    let node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let host_port = free_port() as i32;
    let id = run(&mut cri, pod_config(&node, "web", host_port)).await.unwrap();

    let (st, info) = status(&mut cri, &id).await;
    assert_eq!(st.state, PodSandboxState::SandboxReady as i32);
    let ip = st.network.as_ref().unwrap().ip.clone();
    let prefix = node.pod_subnet().rsplit_once('.').unwrap().0.to_string();
    assert!(ip.starts_with(&prefix), "{ip} in {}", node.pod_subnet());
    let pid = info["pid"].as_u64().unwrap();
    assert_eq!(info["runtimeSpec"]["process"]["args"][0], "/pause", "verbose status carries the OCI spec");
    assert_eq!(info["runtimeSpec"]["annotations"]["io.kubernetes.cri.sandbox-id"], id);
    assert!(in_pod(pid, "-n", &["ip", "-4", "-o", "addr", "show", "eth0"]).contains(&ip));
    assert_eq!(in_pod(pid, "-u", &["hostname"]), "web-host");
    assert_eq!(in_pod(pid, "-n", &["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]), "80");
    let resolv = std::fs::read_to_string(format!("/proc/{pid}/root/etc/resolv.conf")).unwrap();
    assert_eq!(resolv, "nameserver 10.96.0.10\nsearch e2e.svc.cluster.local\noptions ndots:5\n");
    assert_eq!(std::fs::read_to_string(format!("/proc/{pid}/root/etc/hostname")).unwrap(), "web-host\n");
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let shm = mounts.lines().find(|l| l.split(' ').nth(4) == Some("/dev/shm")).expect("a /dev/shm");
    assert!(shm.contains("tmpfs") && shm.contains("size=65536k"), "the pod's own 64 MiB tmpfs: {shm}");
    assert!(nat_rules().contains(&format!("--dport {host_port}")), "hostPort DNAT");

    let listed = cri.runtime.list_pod_sandbox(ListPodSandboxRequest { filter: None }).await.unwrap().into_inner().items;
    assert_eq!(listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let ready = Some(PodSandboxStateValue { state: PodSandboxState::SandboxReady as i32 });
    let not_ready = Some(PodSandboxStateValue { state: PodSandboxState::SandboxNotready as i32 });
    for (filter, found) in [
        (PodSandboxFilter { id: id[..12].to_string(), ..Default::default() }, true),
        (PodSandboxFilter { id: "0000".into(), ..Default::default() }, false),
        (PodSandboxFilter { state: ready, ..Default::default() }, true),
        (PodSandboxFilter { state: not_ready, ..Default::default() }, false),
        (PodSandboxFilter { label_selector: [("app".to_string(), "web".to_string())].into(), ..Default::default() }, true),
        (PodSandboxFilter { label_selector: [("app".to_string(), "db".to_string())].into(), ..Default::default() }, false),
    ] {
        let req = ListPodSandboxRequest { filter: Some(filter.clone()) };
        let items = cri.runtime.list_pod_sandbox(req).await.unwrap().into_inner().items;
        assert_eq!(items.len(), usize::from(found), "{filter:?}");
    }
    let dup = run(&mut cri, pod_config(&node, "web", 0)).await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists, "{dup}");

    for _ in 0..2 {
        cri.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await.expect("stop (twice)");
    }
    let (st, _) = status(&mut cri, &id).await;
    assert_eq!(st.state, PodSandboxState::SandboxNotready as i32);
    assert!(!nat_rules().contains(&format!("--dport {host_port}")), "hostPort rules gone");
    let reserved: Vec<_> = std::fs::read_dir(node.ws.run("ipam")).unwrap().flatten().flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!reserved.contains(&ip), "the IP was released: {reserved:?}");
    assert!(!std::path::Path::new(info["netns"].as_str().unwrap()).exists(), "netns unpinned");

    for _ in 0..2 {
        cri.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id.clone() }).await.expect("remove (twice)");
    }
    let (_, containers, _) = node.containerd.ctr(NAMESPACE, &["containers", "ls", "-q"]);
    assert!(containers.trim().is_empty(), "{containers}");
    let err = cri.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let again = run(&mut cri, pod_config(&node, "web", 0)).await.expect("the name is free again");
    cri.runtime.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: again.clone() }).await.unwrap();
    cri.runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: again }).await.unwrap();
    node.finish();
}
