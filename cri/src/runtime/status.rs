use std::collections::HashMap;

use crate::api::v1::{
    RuntimeCondition, RuntimeFeatures, RuntimeHandler, RuntimeHandlerFeatures, RuntimeStatus,
    StatusResponse,
};

use crate::adapters::containerd_monitor::Readiness;
use crate::config::Config;
use crate::context::Context;
use crate::locks::RwLockExt;

const RUNTIME_READY: &str = "RuntimeReady";
const NETWORK_READY: &str = "NetworkReady";

pub(super) async fn status(ctx: &Context, verbose: bool) -> StatusResponse {
    let network = network_readiness(ctx).await;
    let mut reply = build(&ctx.config, &ctx.runtime_readiness(), &network, verbose);
    let userns = ctx.user_namespaces.check(ctx).await.is_ok();
    let runc = RuncHandlerFeatures { rro: super::runc_features::recursive_read_only(), userns };
    reply.runtime_handlers = handlers(&ctx.config, runc);
    if let Some(f) = reply.features.as_mut() {
        // A pod's user namespace on the node's network: no network namespace to own.
        f.user_namespaces_host_network = userns;
    }
    if verbose {
        reply.info.insert(
            "containerEventsDropped".to_string(),
            ctx.container_events.dropped().to_string(),
        );
        let cidrs = ctx.pod_cidrs.reading().join(",");
        reply.info.insert("podCIDRs".to_string(), cidrs);
    }
    reply
}

/// NetworkReady is true while a CNI network config loads from the conf dir and its plugins
/// answer STATUS (CNI 1.1; lists of earlier versions are ready once loaded).
async fn network_readiness(ctx: &Context) -> Readiness {
    let config = &ctx.config;
    match ctx.networks.current() {
        Ok(Some(net)) => match ctx.cni.status(&net).await {
            Ok(()) => Readiness::ready(),
            Err(e) => Readiness::not_ready(
                "NetworkPluginNotReady",
                format!("network {} is not ready: {e}", net.name),
            ),
        },
        Ok(None) => Readiness::not_ready(
            "NetworkPluginNotReady",
            format!(
                "cni config not loaded: no network config found in {}",
                config.cni.conf_dir.display()
            ),
        ),
        Err(e) => {
            Readiness::not_ready("NetworkPluginNotReady", format!("cni config not loaded: {e}"))
        }
    }
}

fn condition(kind: &str, r: &Readiness) -> RuntimeCondition {
    RuntimeCondition {
        r#type: kind.into(),
        status: r.ready,
        reason: r.reason.clone(),
        message: r.message.clone(),
    }
}

pub(super) fn build(
    config: &Config,
    runtime: &Readiness,
    network: &Readiness,
    verbose: bool,
) -> StatusResponse {
    let mut info = HashMap::new();
    if verbose {
        let json =
            serde_json::to_string(config).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        info.insert("config".to_string(), json);
    }
    StatusResponse {
        status: Some(RuntimeStatus {
            conditions: vec![condition(RUNTIME_READY, runtime), condition(NETWORK_READY, network)],
        }),
        info,
        runtime_handlers: handlers(config, RuncHandlerFeatures::default()),
        features: Some(RuntimeFeatures {
            supplemental_groups_policy: true,
            user_namespaces_host_network: false,
            mount_options: true,
        }),
    }
}

/// What handlers running the `runc` on PATH can do on this node.
#[derive(Debug, Clone, Copy, Default)]
struct RuncHandlerFeatures {
    rro: bool,
    userns: bool,
}

/// Every configured handler, plus the default one again under the empty name (CRI: "" is the
/// default). Recursive read-only mounts and user namespaces where the handler is the `runc`
/// on PATH and the node can.
fn handlers(config: &Config, node: RuncHandlerFeatures) -> Vec<RuntimeHandler> {
    let features = |name: &str| {
        let runc = config.containerd.runtimes.get(name).is_some_and(crate::sandbox::runs_path_runc);
        Some(RuntimeHandlerFeatures {
            recursive_read_only_mounts: runc && node.rro,
            user_namespaces: runc && node.userns,
        })
    };
    let default = &config.containerd.default_runtime;
    let mut list = vec![RuntimeHandler { name: String::new(), features: features(default) }];
    list.extend(
        config
            .containerd
            .runtimes
            .keys()
            .map(|name| RuntimeHandler { name: name.clone(), features: features(name) }),
    );
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_carry_reason_and_message_when_false() {
        let down = Readiness::not_ready("ContainerdUnreachable", "containerd at /x: refused");
        let s = build(&Config::default(), &down, &Readiness::ready(), false);
        let conditions = s.status.unwrap().conditions;
        assert_eq!(conditions[0].r#type, "RuntimeReady");
        assert!(!conditions[0].status);
        assert_eq!(conditions[0].reason, "ContainerdUnreachable");
        assert!(conditions[0].message.contains("refused"));
        assert_eq!(conditions[1].r#type, "NetworkReady");
        assert!(conditions[1].status);
        assert!(s.info.is_empty());
    }

    #[tokio::test]
    async fn a_network_whose_plugin_fails_status_is_not_ready_and_says_why() {
        let node = crate::testing::TestNode::new();
        assert!(network_readiness(&node.ctx).await.ready);
        node.network.fail("STATUS", 3);
        let r = network_readiness(&node.ctx).await;
        assert!(!r.ready);
        assert_eq!(r.reason, "NetworkPluginNotReady");
        assert!(
            r.message
                .contains("network testnet is not ready: CNI plugin bridge STATUS failed (code 3)"),
            "{}",
            r.message
        );
        let conf_dir = &node.ctx.config.cni.conf_dir;
        std::fs::write(conf_dir.join("10-test.conflist"), b"{not json").unwrap();
        let r = network_readiness(&node.ctx).await;
        assert!(!r.ready && r.message.contains("cni config not loaded"), "{}", r.message);
        std::fs::remove_file(conf_dir.join("10-test.conflist")).unwrap();
        let r = network_readiness(&node.ctx).await;
        assert!(!r.ready && r.message.contains(&conf_dir.display().to_string()), "{}", r.message);
    }

    #[test]
    fn verbose_adds_the_effective_config_as_json() {
        let s = build(&Config::default(), &Readiness::ready(), &Readiness::ready(), true);
        let config: serde_json::Value = serde_json::from_str(&s.info["config"]).unwrap();
        assert_eq!(config["containerd"]["namespace"], "k8s.io");
    }

    #[test]
    fn handlers_list_the_default_under_the_empty_name_and_each_configured_one() {
        let listed = handlers(&Config::default(), RuncHandlerFeatures { rro: true, userns: true });
        let names: Vec<&str> = listed.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["", "runc"]);
        assert!(
            listed.iter().all(|h| h.features.unwrap().recursive_read_only_mounts),
            "runc with rro"
        );
        assert!(listed.iter().all(|h| h.features.unwrap().user_namespaces));
        assert!(handlers(&Config::default(), RuncHandlerFeatures::default()).iter().all(|h| !h
            .features
            .unwrap()
            .recursive_read_only_mounts
            && !h.features.unwrap().user_namespaces));
        let mut kata = Config::default();
        kata.containerd.runtimes.get_mut("runc").unwrap().runtime_type =
            "io.containerd.kata.v2".into();
        let node = RuncHandlerFeatures { rro: true, userns: true };
        assert!(handlers(&kata, node).iter().all(|h| !h.features.unwrap().user_namespaces));
    }
}
