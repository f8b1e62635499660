//! Pod sandboxes with the real bridge, host-local and portmap plugins on a private bridge and
//! subnet without masquerading.

use std::process::Command;
use std::time::Duration;

use cricket::api::v1::*;
use e2e::node::NAMESPACE;
use e2e::registry::free_port;
use e2e::{Node, NodeOptions};
use tonic::Code;

fn pod_config(node: &Node, name: &str, host_port: i32) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "e2e".into(),
            attempt: 0,
        }),
        hostname: format!("{name}-host"),
        log_directory: node.ws.run("logs").display().to_string(),
        labels: [("app".to_string(), name.to_string())].into(),
        dns_config: Some(DnsConfig {
            servers: vec!["10.96.0.10".into()],
            searches: vec!["e2e.svc.cluster.local".into()],
            options: vec!["ndots:5".into()],
        }),
        port_mappings: if host_port > 0 {
            vec![PortMapping {
                protocol: Protocol::Tcp as i32,
                container_port: 80,
                host_port,
                host_ip: String::new(),
            }]
        } else {
            vec![]
        },
        linux: Some(LinuxPodSandboxConfig {
            sysctls: [
                ("net.ipv4.ip_unprivileged_port_start".to_string(), "80".to_string()),
                ("kernel.shmmni".to_string(), "2048".to_string()),
            ]
            .into(),
            // As kubelet sends for a pod without shareProcessNamespace.
            security_context: e2e::pods::own_pid_namespaces(),
            ..Default::default()
        }),
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

async fn status(
    cri: &mut e2e::cri_client::CriClient,
    id: &str,
) -> (PodSandboxStatus, serde_json::Value) {
    let reply = cri
        .runtime
        .pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose: true })
        .await
        .unwrap()
        .into_inner();
    let info = reply.info.get("info").map(|i| serde_json::from_str(i).unwrap()).unwrap_or_default();
    (reply.status.unwrap(), info)
}

/// Runs `args` in one of the pod's namespaces (`net`, `ipc` or `uts`): its pause's, or the pin.
fn in_pod(info: &serde_json::Value, kind: &str, args: &[&str]) -> String {
    let mut cmd = Command::new("nsenter");
    if info["pause"] == true {
        cmd.args(["-t", &info["pid"].as_u64().unwrap().to_string(), &format!("-{}", &kind[..1])]);
    } else {
        cmd.arg(format!("--{kind}={}", info[format!("{kind}ns")].as_str().unwrap()));
    }
    let out = cmd.args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The host file the sandbox spec binds at `destination`.
fn bound_file(info: &serde_json::Value, destination: &str) -> String {
    let mounts = info["runtimeSpec"]["mounts"].as_array().unwrap();
    let m = mounts
        .iter()
        .find(|m| m["destination"] == destination)
        .unwrap_or_else(|| panic!("no {destination} in {mounts:?}"));
    m["source"].as_str().unwrap().to_string()
}

fn shm_mount_line(info: &serde_json::Value) -> String {
    let (mountinfo, mount_point) = if info["pause"] == true {
        (format!("/proc/{}/mountinfo", info["pid"]), "/dev/shm".to_string())
    } else {
        ("/proc/self/mountinfo".to_string(), bound_file(info, "/dev/shm"))
    };
    let mounts = std::fs::read_to_string(mountinfo).unwrap();
    mounts
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(mount_point.as_str()))
        .expect("a /dev/shm")
        .to_string()
}

fn tasks(node: &Node) -> String {
    node.containerd.ctr(NAMESPACE, &["tasks", "ls", "-q"]).1
}

fn nat_rules() -> String {
    String::from_utf8_lossy(
        &Command::new("iptables-save").args(["-t", "nat"]).output().unwrap().stdout,
    )
    .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_without_pause_runs_ready_with_its_network_then_stops_and_goes_away_completely() {
    pod_lifecycle(NodeOptions::default(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_with_a_pause_runs_ready_with_its_network_then_stops_and_goes_away_completely() {
    let extra = "[containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\npause = \"always\"\n";
    pod_lifecycle(NodeOptions { extra_config: extra.into(), ..Default::default() }, true).await;
}

async fn pod_lifecycle(options: NodeOptions, pause: bool) {
    let node = Node::start(options);
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
    assert_eq!(info["pause"], pause, "{info}");
    assert_eq!(info["pid"].as_u64().unwrap() > 0, pause, "a pause process only when asked for");
    assert_eq!(tasks(&node).trim().is_empty(), !pause, "a containerd task only for a pause");
    assert_eq!(
        info["runtimeSpec"]["process"]["args"][0], "/pause",
        "verbose status carries the OCI spec"
    );
    assert_eq!(info["runtimeSpec"]["annotations"]["io.kubernetes.cri.sandbox-id"], id);
    assert!(in_pod(&info, "net", &["ip", "-4", "-o", "addr", "show", "eth0"]).contains(&ip));
    assert_eq!(in_pod(&info, "uts", &["hostname"]), "web-host");
    assert_eq!(
        in_pod(&info, "net", &["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]),
        "80"
    );
    assert_eq!(in_pod(&info, "ipc", &["cat", "/proc/sys/kernel/shmmni"]), "2048");
    let resolv = std::fs::read_to_string(bound_file(&info, "/etc/resolv.conf")).unwrap();
    assert_eq!(resolv, "nameserver 10.96.0.10\nsearch e2e.svc.cluster.local\noptions ndots:5\n");
    assert_eq!(std::fs::read_to_string(bound_file(&info, "/etc/hostname")).unwrap(), "web-host\n");
    if pause {
        let pid = info["pid"].as_u64().unwrap();
        assert_eq!(
            std::fs::read_to_string(format!("/proc/{pid}/root/etc/hostname")).unwrap(),
            "web-host\n"
        );
    }
    let shm = shm_mount_line(&info);
    assert!(
        shm.contains("tmpfs") && shm.contains("size=65536k"),
        "the pod's own 64 MiB tmpfs: {shm}"
    );
    assert!(nat_rules().contains(&format!("--dport {host_port}")), "hostPort DNAT");

    let listed = cri
        .runtime
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let ready = Some(PodSandboxStateValue { state: PodSandboxState::SandboxReady as i32 });
    let not_ready = Some(PodSandboxStateValue { state: PodSandboxState::SandboxNotready as i32 });
    for (filter, found) in [
        (PodSandboxFilter { id: id[..12].to_string(), ..Default::default() }, true),
        (PodSandboxFilter { id: "0000".into(), ..Default::default() }, false),
        (PodSandboxFilter { state: ready, ..Default::default() }, true),
        (PodSandboxFilter { state: not_ready, ..Default::default() }, false),
        (
            PodSandboxFilter {
                label_selector: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            },
            true,
        ),
        (
            PodSandboxFilter {
                label_selector: [("app".to_string(), "db".to_string())].into(),
                ..Default::default()
            },
            false,
        ),
    ] {
        let req = ListPodSandboxRequest { filter: Some(filter.clone()) };
        let items = cri.runtime.list_pod_sandbox(req).await.unwrap().into_inner().items;
        assert_eq!(items.len(), usize::from(found), "{filter:?}");
    }
    // The same request again (a retry whose answer was lost) gets the pod that is ready.
    let again = run(&mut cri, pod_config(&node, "web", 0)).await.expect("a retry of a ready pod");
    assert_eq!(again, id, "the same pod, not a second one");
    let listed = cri
        .runtime
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(listed.len(), 1, "{listed:?}");

    for _ in 0..2 {
        cri.runtime
            .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() })
            .await
            .expect("stop (twice)");
    }
    let (st, _) = status(&mut cri, &id).await;
    assert_eq!(st.state, PodSandboxState::SandboxNotready as i32);
    assert!(!nat_rules().contains(&format!("--dport {host_port}")), "hostPort rules gone");
    let reserved: Vec<_> = std::fs::read_dir(node.ws.run("ipam"))
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!reserved.contains(&ip), "the IP was released: {reserved:?}");
    for pin in ["netns", "ipcns", "utsns"]
        .map(|k| info[k].as_str().unwrap())
        .into_iter()
        .filter(|p| !p.is_empty())
    {
        assert!(!std::path::Path::new(pin).exists(), "{pin} unpinned");
    }
    assert!(tasks(&node).trim().is_empty(), "no task left");

    for _ in 0..2 {
        cri.runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id.clone() })
            .await
            .expect("remove (twice)");
    }
    let (_, containers, _) = node.containerd.ctr(NAMESPACE, &["containers", "ls", "-q"]);
    assert!(containers.trim().is_empty(), "{containers}");
    let shims = e2e::leaks::processes_outliving(&id, Duration::from_secs(10));
    assert!(shims.is_empty(), "the pod's shim is gone once the pod is removed: {shims:?}");
    cri.runtime
        .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() })
        .await
        .expect("stopping a removed pod is fine");
    let err = cri
        .runtime
        .pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.clone(), verbose: false })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let again = run(&mut cri, pod_config(&node, "web", 0)).await.expect("the name is free again");
    cri.runtime
        .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: again.clone() })
        .await
        .unwrap();
    cri.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: again.clone() })
        .await
        .unwrap();
    let shims = e2e::leaks::processes_outliving(&again, Duration::from_secs(10));
    assert!(shims.is_empty(), "the second pod's shim is gone too: {shims:?}");
    node.finish();
}
