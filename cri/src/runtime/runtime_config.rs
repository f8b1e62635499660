use crate::error::Error;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::api::v1::{
    CgroupDriver, LinuxRuntimeConfiguration, RuntimeConfigResponse, UpdateRuntimeConfigRequest,
    UpdateRuntimeConfigResponse,
};

use crate::config::Config;
use crate::context::Context;
use crate::locks::RwLockExt;

/// The cgroup driver follows the default runtime's `SystemdCgroup` option; kubelet reads it
/// once at start, and the config cannot change while cricket runs.
pub(super) fn runtime_config(config: &Config) -> RuntimeConfigResponse {
    let driver =
        if config.systemd_cgroup() { CgroupDriver::Systemd } else { CgroupDriver::Cgroupfs };
    RuntimeConfigResponse {
        linux: Some(LinuxRuntimeConfiguration { cgroup_driver: driver as i32 }),
    }
}

/// `a.b.c.d/n` or `x::/n`.
fn valid_cidr(cidr: &str) -> bool {
    let Some((addr, prefix)) = cidr.split_once('/') else { return false };
    match (addr.parse::<IpAddr>(), prefix.parse::<u8>()) {
        (Ok(IpAddr::V4(_)), Ok(p)) => p <= 32,
        (Ok(IpAddr::V6(_)), Ok(p)) => p <= 128,
        _ => false,
    }
}

/// Where the pod CIDRs are kept: kubelet hands them over only when they change, so a restarted
/// cricket must still know them.
fn pod_cidrs_file(root_dir: &Path) -> PathBuf {
    root_dir.join("pod-cidrs")
}

/// The pod CIDRs a previous cricket recorded; none if it recorded none.
pub fn load_pod_cidrs(root_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(pod_cidrs_file(root_dir)).unwrap_or_default();
    text.trim().split(',').filter(|c| valid_cidr(c)).map(str::to_string).collect()
}

/// The node's pod CIDRs, as kubelet hands them over once the node has them (comma-separated
/// for dual stack). The pod network's own config assigns addresses, so cricket records them
/// (Status verbose info `podCIDRs`, kept in `root_dir/pod-cidrs`) and logs a change; as CRI-O
/// does, it writes no CNI config.
pub(super) fn update_runtime_config(
    ctx: &Context,
    req: UpdateRuntimeConfigRequest,
) -> Result<UpdateRuntimeConfigResponse, Error> {
    let cidr =
        req.runtime_config.and_then(|c| c.network_config).map(|n| n.pod_cidr).unwrap_or_default();
    let cidrs: Vec<String> =
        cidr.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect();
    if let Some(bad) = cidrs.iter().find(|c| !valid_cidr(c)) {
        return Err(Error::invalid(
            "runtime_config.network_config.pod_cidr",
            format!("{bad:?} is not a CIDR"),
        ));
    }
    if cidrs.is_empty() {
        return Ok(UpdateRuntimeConfigResponse {});
    }
    let mut current = ctx.pod_cidrs.writing();
    if *current != cidrs {
        // Kept before answering: kubelet does not send them again after a success.
        let file = pod_cidrs_file(&ctx.config.root_dir);
        crate::store::status_file::write_atomic(&file, cidrs.join(",").as_bytes())
            .map_err(|e| Error::internal(format!("keep the pod CIDRs in {}", file.display()), e))?;
        tracing::info!(pod_cidrs = %cidrs.join(","), "the node's pod CIDRs");
        *current = cidrs;
    }
    Ok(UpdateRuntimeConfigResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_of_both_families() {
        assert!(valid_cidr("10.244.1.0/24") && valid_cidr("fd00:10:244:1::/64"));
        for bad in ["10.244.1.0", "10.244.1.0/33", "fd00::/129", "ten/8", "/24"] {
            assert!(!valid_cidr(bad), "{bad}");
        }
    }

    #[test]
    fn driver_follows_systemd_cgroup() {
        let mut config = Config::default();
        assert_eq!(
            runtime_config(&config).linux.unwrap().cgroup_driver,
            CgroupDriver::Cgroupfs as i32
        );
        let runc = config.containerd.runtimes.get_mut("runc").unwrap();
        runc.options.insert("SystemdCgroup".into(), toml::Value::Boolean(true));
        assert_eq!(
            runtime_config(&config).linux.unwrap().cgroup_driver,
            CgroupDriver::Systemd as i32
        );
    }
}
