//! Bind mounts of files the runtime writes for the pod (/etc/hostname, /etc/resolv.conf,
//! /etc/hosts).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{MountBuilder, Spec};

use super::SpecError;

/// The pod's files on the host, bound read-only into its containers.
#[derive(Debug, Clone, PartialEq)]
pub struct EtcFiles {
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
    pub hosts: PathBuf,
}

pub fn add_etc_files(spec: &mut Spec, files: &EtcFiles) -> Result<(), SpecError> {
    let bind = |source: &Path, destination: &str| {
        MountBuilder::default()
            .destination(destination)
            .typ("bind")
            .source(source)
            .options(vec![
                "rbind".to_string(),
                "ro".to_string(),
                "nosuid".to_string(),
                "nodev".to_string(),
            ])
            .build()
    };
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(bind(&files.hostname, "/etc/hostname")?);
    mounts.push(bind(&files.resolv_conf, "/etc/resolv.conf")?);
    mounts.push(bind(&files.hosts, "/etc/hosts")?);
    spec.set_mounts(Some(mounts));
    Ok(())
}

/// The node's /sys, bound read-only, in place of a new sysfs: a user namespace that does not
/// own the network namespace (a host-network pod's) may not mount sysfs.
pub fn bind_host_sys(spec: &mut Spec) -> Result<(), SpecError> {
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.retain(|m| m.destination() != Path::new("/sys"));
    let options = ["rbind", "rro", "nosuid", "nodev", "noexec"].map(String::from).to_vec();
    let sys =
        MountBuilder::default().destination("/sys").typ("bind").source("/sys").options(options);
    mounts.push(sys.build()?);
    spec.set_mounts(Some(mounts));
    Ok(())
}
