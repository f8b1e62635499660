//! A sandbox's CNI attachment: the per-call arguments from its config, and DEL with retries
//! using the configuration the ADD ran with.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::v1::{PodSandboxConfig, Protocol};
use cni::RuntimeConf;
use serde_json::json;

use crate::context::Context;

/// The pod's interface, as `RuntimeConf::for_pod` names it.
pub const IFNAME: &str = "eth0";

pub fn runtime_conf(id: &str, netns: &str, config: &PodSandboxConfig) -> RuntimeConf {
    let m = config.metadata.clone().unwrap_or_default();
    let mut rc = RuntimeConf::for_pod(id, netns, &m.namespace, &m.name, &m.uid);
    let ports: Vec<serde_json::Value> = config
        .port_mappings
        .iter()
        .filter(|p| p.host_port > 0)
        .map(|p| {
            let protocol = Protocol::try_from(p.protocol).unwrap_or(Protocol::Tcp).as_str_name().to_lowercase();
            json!({ "hostPort": p.host_port, "containerPort": p.container_port, "protocol": protocol, "hostIP": p.host_ip })
        })
        .collect();
    if !ports.is_empty() {
        rc.capability_args = BTreeMap::from([("portMappings".to_string(), json!(ports))]);
    }
    rc
}

/// DEL with the configuration cached by the ADD (the conf dir may have changed since), retried
/// with backoff; an error means kubelet must call Stop again.
pub async fn detach(ctx: &Context, network: &str, rc: &RuntimeConf) -> Result<(), String> {
    let mut delay = Duration::from_millis(100);
    let mut last = String::new();
    for _ in 0..4 {
        let t = std::time::Instant::now();
        let deleted = ctx.cni.del_as_added(network, rc).await;
        // Nothing cached (never attached, or already detached): no DEL ran, none is counted.
        if !matches!(deleted, Ok(false)) {
            ctx.metrics.record_cni("DEL", deleted.is_ok(), t.elapsed());
        }
        match deleted {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    Err(last)
}
