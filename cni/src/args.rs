//! What one CNI call is about: the container, its netns, the interface, and the arguments
//! (CNI_ARGS and capability arguments) that come from the pod.

use std::collections::BTreeMap;

/// The per-call parameters of an ADD, CHECK or DEL (CNI spec §Parameters).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuntimeConf {
    pub container_id: String,
    /// Path of the network namespace; empty for DEL of a namespace that is gone.
    pub netns: String,
    pub ifname: String,
    /// `CNI_ARGS` key/value pairs, after `IgnoreUnknown=1`.
    pub args: Vec<(String, String)>,
    /// Capability arguments by capability name (`portMappings`, `bandwidth`, `dns`,
    /// `ipRanges`, ...); each plugin gets the ones it declares in `runtimeConfig`.
    pub capability_args: BTreeMap<String, serde_json::Value>,
}

impl RuntimeConf {
    /// The `K8S_POD_*` arguments kubelet-era runtimes pass.
    pub fn for_pod(
        container_id: &str,
        netns: &str,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> RuntimeConf {
        RuntimeConf {
            container_id: container_id.into(),
            netns: netns.into(),
            ifname: "eth0".into(),
            args: vec![
                ("K8S_POD_NAMESPACE".into(), namespace.into()),
                ("K8S_POD_NAME".into(), name.into()),
                ("K8S_POD_INFRA_CONTAINER_ID".into(), container_id.into()),
                ("K8S_POD_UID".into(), uid.into()),
            ],
            capability_args: BTreeMap::new(),
        }
    }

    /// The parameters a cached attachment was made with, for its DEL (`netns` may be gone).
    pub fn from_cached(cached: &crate::cache::CachedAttachment, netns: &str) -> RuntimeConf {
        RuntimeConf {
            container_id: cached.container_id.clone(),
            netns: netns.into(),
            ifname: cached.if_name.clone(),
            args: cached.cni_args.clone(),
            capability_args: serde_json::from_value(cached.capability_args.clone())
                .unwrap_or_default(),
        }
    }

    /// `CNI_ARGS`: `IgnoreUnknown=1;K=V;...`
    pub fn cni_args(&self) -> String {
        std::iter::once("IgnoreUnknown=1".to_string())
            .chain(self.args.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_args_follow_the_kubelet_convention() {
        let rc = RuntimeConf::for_pod("abc", "/run/netns/x", "default", "web", "u-1");
        assert_eq!(rc.ifname, "eth0");
        assert_eq!(
            rc.cni_args(),
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1"
        );
    }
}
