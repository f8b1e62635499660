//! The base every container starts from: runc's default mounts, containerd's default
//! capabilities and masked and read-only paths.

use std::collections::HashSet;

use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxCapabilitiesBuilder, Spec};

use super::SpecError;

/// containerd's 14 default capabilities.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

pub const READONLY_PATHS: [&str; 5] =
    ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// `caps` as the bounding, effective and permitted sets (nothing inheritable or ambient).
pub fn capabilities(caps: HashSet<Capability>) -> Result<LinuxCapabilities, SpecError> {
    Ok(LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .inheritable(HashSet::new())
        .ambient(HashSet::new())
        .build()?)
}

/// A spec with the defaults in place and nothing pod-specific yet.
pub fn base() -> Result<Spec, SpecError> {
    let mut spec = Spec::default();
    spec.set_hostname(None);
    let capabilities = capabilities(DEFAULT_CAPABILITIES.into_iter().collect())?;
    let process = super::process_of(&mut spec);
    process.set_capabilities(Some(capabilities));
    process.set_env(Some(vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    ]));
    process.set_rlimits(None);
    let linux = spec.linux_mut().as_mut().expect("the default spec has linux");
    linux.set_masked_paths(Some(MASKED_PATHS.iter().map(|p| p.to_string()).collect()));
    linux.set_readonly_paths(Some(READONLY_PATHS.iter().map(|p| p.to_string()).collect()));
    Ok(spec)
}
