//! The process and its security context: user, read-only root, privileges, OOM score.

use std::collections::HashSet;

use oci_spec::runtime::{Capability, Spec};

use super::SpecError;

/// A process cannot lower its OOM score below the daemon's own unless it has
/// CAP_SYS_RESOURCE (root in a kind node or this VM does not): clamp like containerd's
/// `restrict_oom_score_adj`, or runc fails every pod.
pub fn clamp_oom_score_adj(wanted: i32, daemon_own: i32) -> i32 {
    wanted.max(daemon_own).min(1000)
}

pub fn set_args(spec: &mut Spec, args: Vec<String>) {
    super::process_of(spec).set_args(Some(args));
}

pub fn set_oom_score_adj(spec: &mut Spec, value: i32) {
    super::process_of(spec).set_oom_score_adj(Some(value));
}

/// `run_as_user` / `run_as_group`; negative IDs are refused naming the field.
pub fn set_user(
    spec: &mut Spec,
    uid: Option<i64>,
    gid: Option<i64>,
    field_prefix: &str,
) -> Result<(), SpecError> {
    let to_u32 = |v: i64, name: &str| {
        u32::try_from(v).map_err(|_| {
            SpecError::invalid(&format!("{field_prefix}.{name}"), format!("{v} is not a valid ID"))
        })
    };
    let user = super::process_of(spec).user_mut();
    if let Some(uid) = uid {
        user.set_uid(to_u32(uid, "run_as_user")?);
    }
    if let Some(gid) = gid {
        user.set_gid(to_u32(gid, "run_as_group")?);
    }
    Ok(())
}

pub fn set_readonly_rootfs(spec: &mut Spec, readonly: bool) {
    if let Some(root) = spec.root_mut().as_mut() {
        root.set_readonly(Some(readonly));
    }
}

/// Every capability Linux defines (up to 5.9, CAP_CHECKPOINT_RESTORE), by bit number.
const ALL_CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The capabilities in the bounding set `bounding` (a CapBnd bit mask).
fn capabilities_in(bounding: u64) -> HashSet<Capability> {
    ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| bounding & (1 << bit) != 0)
        .filter_map(|(_, c)| c.parse().ok())
        .collect()
}

/// cricket's own bounding set: no container can get more (root in a kind node or a VM like
/// this one may lack some, e.g. CAP_SYS_RESOURCE), and asking runc for more fails the start.
fn own_bounding_set() -> u64 {
    static OWN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *OWN.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(u64::MAX)
    })
}

/// "Every capability", as privileged containers and `add: ALL` get it: all that cricket holds.
pub fn all_capabilities() -> HashSet<Capability> {
    capabilities_in(own_bounding_set())
}

/// Privileged: every capability, nothing masked or read-only.
pub fn set_privileged(spec: &mut Spec) -> Result<(), SpecError> {
    let caps = super::defaults::capabilities(all_capabilities())?;
    super::process_of(spec).set_capabilities(Some(caps));
    let linux = spec.linux_mut().as_mut().expect("linux");
    linux.set_masked_paths(None);
    linux.set_readonly_paths(None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_name_parses() {
        let parsed = ALL_CAPABILITIES.iter().filter(|c| c.parse::<Capability>().is_ok()).count();
        assert_eq!(parsed, ALL_CAPABILITIES.len());
    }

    #[test]
    fn all_means_all_in_the_bounding_set_by_bit() {
        assert_eq!(capabilities_in((1 << 41) - 1).len(), 41);
        let without_sys_resource = capabilities_in(0x1fffeffffff);
        assert_eq!(without_sys_resource.len(), 40);
        assert!(
            !without_sys_resource.contains(&Capability::SysResource)
                && without_sys_resource.contains(&Capability::CheckpointRestore)
        );
        assert_eq!(capabilities_in(1 << 12), HashSet::from([Capability::NetAdmin]));
    }

    #[test]
    fn oom_score_adj_never_goes_below_the_daemons_own() {
        assert_eq!(clamp_oom_score_adj(-998, -999), -998);
        assert_eq!(
            clamp_oom_score_adj(-998, 0),
            0,
            "root without CAP_SYS_RESOURCE cannot go lower"
        );
        assert_eq!(clamp_oom_score_adj(1500, 0), 1000);
    }
}
