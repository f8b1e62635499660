//! Version, Status, RuntimeConfig and UpdateRuntimeConfig against a real containerd.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::{eventually, Node, NodeOptions};

fn condition(s: &StatusResponse, kind: &str) -> RuntimeCondition {
    s.status.as_ref().unwrap().conditions.iter().find(|c| c.r#type == kind).cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_status_and_runtime_config_answer() {
    let mut node = Node::start(NodeOptions::default());
    let mut cri = node.client().await;

    let v =
        cri.runtime.version(VersionRequest { version: "v1".into() }).await.unwrap().into_inner();
    assert_eq!(v.runtime_name, "cricket");
    assert_eq!(v.runtime_api_version, "v1");
    assert_eq!(v.runtime_version, cricket::VERSION);

    let ready = eventually(Duration::from_secs(15), || {
        let mut cri = cri.clone();
        async move {
            let s = cri.runtime.status(StatusRequest { verbose: false }).await.ok()?.into_inner();
            condition(&s, "RuntimeReady").status.then_some(s)
        }
    })
    .await
    .expect("RuntimeReady becomes true with containerd up");
    let network = condition(&ready, "NetworkReady");
    assert!(!network.status, "no CNI config yet");
    assert_eq!(network.reason, "NetworkPluginNotReady");
    assert!(network.message.contains("net.d"), "{}", network.message);
    let handlers: Vec<&str> = ready.runtime_handlers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(handlers, ["", "runc"]);
    // What kubelet reads at start: Strict supplemental groups and mount options are served;
    // user namespaces (and their host-network combination) where the backend can make them.
    let f = ready.features.unwrap();
    let userns = e2e::backend::Backend::current() == e2e::backend::Backend::Built2;
    assert_eq!(
        (f.supplemental_groups_policy, f.mount_options, f.user_namespaces_host_network),
        (true, true, userns)
    );
    assert!(ready.runtime_handlers.iter().all(|h| h.features.unwrap().user_namespaces == userns));

    let rc = cri.runtime.runtime_config(RuntimeConfigRequest {}).await.unwrap().into_inner();
    assert_eq!(rc.linux.unwrap().cgroup_driver, CgroupDriver::Cgroupfs as i32);

    node.write_cni_config();
    let s = cri.runtime.status(StatusRequest { verbose: true }).await.unwrap().into_inner();
    assert!(
        condition(&s, "NetworkReady").status,
        "a conflist in the conf dir makes the network ready"
    );
    // A CNI 1.1 list gets STATUS from its plugins; Debian's (CNI 1.0) refuse it, so the
    // network is not ready and the condition names the plugin and the command.
    let conflist = node.ws.run("net.d").join("10-e2e.conflist");
    let text = std::fs::read_to_string(&conflist).unwrap();
    std::fs::write(&conflist, text.replace("\"1.0.0\"", "\"1.1.0\"")).unwrap();
    let not_ready = cri.runtime.status(StatusRequest { verbose: false }).await.unwrap();
    let network = condition(&not_ready.into_inner(), "NetworkReady");
    assert!(!network.status, "{network:?}");
    assert_eq!(network.reason, "NetworkPluginNotReady");
    assert!(network.message.contains("CNI plugin bridge STATUS failed"), "{}", network.message);
    std::fs::write(&conflist, text).unwrap();
    let again = cri.runtime.status(StatusRequest { verbose: false }).await.unwrap().into_inner();
    assert!(condition(&again, "NetworkReady").status, "ready again with the 1.0 list");

    let config: serde_json::Value = serde_json::from_str(&s.info["config"]).unwrap();
    assert_eq!(config["listen"], node.ws.run("cricket.sock").display().to_string());

    // kubelet hands over the node's pod CIDRs; a bad one is named.
    let update = |cidr: &str| UpdateRuntimeConfigRequest {
        runtime_config: Some(RuntimeConfig {
            network_config: Some(NetworkConfig { pod_cidr: cidr.into() }),
        }),
    };
    cri.runtime.update_runtime_config(update("10.244.1.0/24,fd00:10:244:1::/64")).await.unwrap();
    let err = cri.runtime.update_runtime_config(update("10.244.1.0")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("runtime_config.network_config.pod_cidr"), "{err}");
    let s = cri.runtime.status(StatusRequest { verbose: true }).await.unwrap().into_inner();
    assert_eq!(
        s.info["podCIDRs"], "10.244.1.0/24,fd00:10:244:1::/64",
        "the bad one changed nothing"
    );
    // kubelet sends them only when they change: a cricket killed and restarted still knows them.
    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    node.cricket().start_again();
    let mut cri = node.client().await;
    let s = cri.runtime.status(StatusRequest { verbose: true }).await.unwrap().into_inner();
    assert_eq!(s.info["podCIDRs"], "10.244.1.0/24,fd00:10:244:1::/64", "kept across kill -9");

    let err =
        cri.runtime.checkpoint_container(CheckpointContainerRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("container_id"), "{err}");
    node.finish();
}
