//! Seccomp per `SecurityProfile`: Unconfined, RuntimeDefault (cricket's built-in profile) or
//! Localhost (a profile file on the node, OCI `linux.seccomp` JSON).
//!
//! The built-in profile allows everything except the syscalls that reach past the container:
//! kernel modules, kexec, reboot, clock and swap changes, accounting, keyrings, BPF, perf,
//! userfaultfd, ptrace and cross-process memory, and, without CAP_SYS_ADMIN, mount, namespace
//! and root changes. That is the set Docker's default profile denies by omission, written as a
//! deny list so new harmless syscalls keep working; denied calls fail with EPERM.

use crate::api::v1::security_profile::ProfileType;
use crate::api::v1::SecurityProfile;
use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompBuilder, LinuxSyscallBuilder,
    Spec,
};

use super::SpecError;

/// Denied always.
pub const DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "get_kernel_syms",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "nfsservctl",
    "open_by_handle_at",
    "perf_event_open",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "_sysctl",
    "sysfs",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// Denied unless the container has CAP_SYS_ADMIN.
pub const DENIED_WITHOUT_SYS_ADMIN: &[&str] = &[
    "mount",
    "umount",
    "umount2",
    "unshare",
    "setns",
    "pivot_root",
    "name_to_handle_at",
    "fsopen",
    "fsmount",
    "fsconfig",
    "move_mount",
    "open_tree",
];

pub fn default_profile(sys_admin: bool) -> Result<LinuxSeccomp, SpecError> {
    let mut names: Vec<String> = DENIED.iter().map(|s| s.to_string()).collect();
    if !sys_admin {
        names.extend(DENIED_WITHOUT_SYS_ADMIN.iter().map(|s| s.to_string()));
    }
    let deny = LinuxSyscallBuilder::default()
        .names(names)
        .action(LinuxSeccompAction::ScmpActErrno)
        .errno_ret(libc::EPERM as u32)
        .build()?;
    Ok(LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(vec![
            Arch::ScmpArchX86_64,
            Arch::ScmpArchX86,
            Arch::ScmpArchX32,
            Arch::ScmpArchAarch64,
            Arch::ScmpArchArm,
        ])
        .syscalls(vec![deny])
        .build()?)
}

fn has_sys_admin(spec: &Spec) -> bool {
    spec.process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref())
        .and_then(|c| c.bounding().as_ref())
        .is_some_and(|b| b.contains(&Capability::SysAdmin))
}

pub fn set_seccomp(
    spec: &mut Spec,
    profile: Option<&SecurityProfile>,
    privileged: bool,
) -> Result<(), SpecError> {
    const F: &str = "config.linux.security_context.seccomp";
    let Some(p) = profile.filter(|_| !privileged) else { return Ok(()) };
    let seccomp = match ProfileType::try_from(p.profile_type) {
        Ok(ProfileType::Unconfined) => return Ok(()),
        Ok(ProfileType::RuntimeDefault) => default_profile(has_sys_admin(spec))?,
        Ok(ProfileType::Localhost) => {
            let text = std::fs::read_to_string(&p.localhost_ref).map_err(|e| {
                SpecError::invalid(
                    &format!("{F}.localhost_ref"),
                    format!("{:?}: {e}", p.localhost_ref),
                )
            })?;
            serde_json::from_str(&text).map_err(|e| {
                SpecError::invalid(
                    &format!("{F}.localhost_ref"),
                    format!("{:?} is not a seccomp profile: {e}", p.localhost_ref),
                )
            })?
        }
        Err(_) => {
            return Err(SpecError::invalid(
                &format!("{F}.profile_type"),
                format!("unknown type {}", p.profile_type),
            ))
        }
    };
    spec.linux_mut().as_mut().expect("linux").set_seccomp(Some(seccomp));
    Ok(())
}
