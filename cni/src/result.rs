//! Plugin results of every spec version (0.1/0.2 with `ip4`/`ip6`, 0.3.x to 1.x with `ips`),
//! read into one shape.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub sandbox: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpConfig {
    /// Address with prefix, e.g. `10.88.0.5/16`.
    pub address: IpNetwork,
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    #[serde(default)]
    pub interface: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Dns {
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub search: Vec<String>,
    #[serde(default)]
    pub options: Vec<String>,
}

/// The outcome of an ADD.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CniResult {
    #[serde(default)]
    pub cni_version: String,
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    #[serde(default)]
    pub dns: Dns,
}

#[derive(Deserialize)]
struct LegacyIp {
    ip: IpNetwork,
    #[serde(default)]
    gateway: Option<IpAddr>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Legacy {
    #[serde(default)]
    cni_version: String,
    ip4: Option<LegacyIp>,
    ip6: Option<LegacyIp>,
    #[serde(default)]
    dns: Dns,
}

impl CniResult {
    /// Reads a result JSON of any version.
    pub fn parse(value: &serde_json::Value) -> Result<CniResult, String> {
        let version = value["cniVersion"].as_str().unwrap_or_default();
        if version.starts_with("0.1")
            || version.starts_with("0.2")
            || value.get("ip4").is_some()
            || value.get("ip6").is_some()
        {
            let legacy: Legacy =
                serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
            let ips = [legacy.ip4, legacy.ip6]
                .into_iter()
                .flatten()
                .map(|l| IpConfig { address: l.ip, gateway: l.gateway, interface: None })
                .collect();
            return Ok(CniResult {
                cni_version: legacy.cni_version,
                interfaces: vec![],
                ips,
                dns: legacy.dns,
            });
        }
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())
    }

    /// Addresses assigned inside the sandbox: those on an interface with a `sandbox` path (or
    /// with no interface named), IPv4 first, as a pod's primary IP is chosen.
    pub fn pod_ips(&self) -> Vec<IpAddr> {
        let in_sandbox = |ip: &&IpConfig| match ip.interface.and_then(|i| self.interfaces.get(i)) {
            Some(iface) => !iface.sandbox.is_empty(),
            None => true,
        };
        let mut ips: Vec<IpAddr> =
            self.ips.iter().filter(in_sandbox).map(|ip| ip.address.ip()).collect();
        ips.sort_by_key(|ip| ip.is_ipv6());
        ips
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_1_0_bridge_result_and_picks_the_pod_side() {
        let v = json!({
            "cniVersion": "1.0.0",
            "interfaces": [{"name": "cni0", "mac": "aa"}, {"name": "veth1", "mac": "bb"}, {"name": "eth0", "mac": "cc", "sandbox": "/run/netns/x"}],
            "ips": [{"address": "fd00::5/64", "interface": 2}, {"address": "10.88.0.5/16", "gateway": "10.88.0.1", "interface": 2}],
            "dns": {}
        });
        let r = CniResult::parse(&v).unwrap();
        assert_eq!(
            r.pod_ips(),
            ["10.88.0.5".parse::<IpAddr>().unwrap(), "fd00::5".parse().unwrap()]
        );
        assert_eq!(r.ips[1].gateway, Some("10.88.0.1".parse().unwrap()));
    }

    #[test]
    fn reads_0_3_and_0_2_results() {
        let v = json!({"cniVersion": "0.3.1", "ips": [{"version": "4", "address": "10.1.0.2/24"}]});
        assert_eq!(
            CniResult::parse(&v).unwrap().pod_ips(),
            ["10.1.0.2".parse::<IpAddr>().unwrap()]
        );
        let old =
            json!({"cniVersion": "0.2.0", "ip4": {"ip": "10.2.0.3/24", "gateway": "10.2.0.1"}});
        assert_eq!(
            CniResult::parse(&old).unwrap().pod_ips(),
            ["10.2.0.3".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        assert!(CniResult::parse(
            &json!({"cniVersion": "1.0.0", "ips": [{"address": "not-an-ip"}]})
        )
        .is_err());
    }
}
