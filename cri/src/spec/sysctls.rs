//! Pod sysctls: only namespaced ones are allowed, and only for a namespace the pod owns.

use std::collections::HashMap;

use oci_spec::runtime::Spec;

use super::namespaces::Share;
use super::SpecError;

/// IPC-namespaced sysctls (exact names and prefixes).
const IPC_EXACT: [&str; 7] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
];
const IPC_PREFIX: &str = "fs.mqueue.";
const IPC_EXTRA: &str = "kernel.shm_rmid_forced";
const NET_PREFIX: &str = "net.";

/// Checks and sets `sysctls`; a sysctl that is not namespaced, or whose namespace is the
/// node's, is refused naming it.
pub fn set_sysctls(
    spec: &mut Spec,
    sysctls: &HashMap<String, String>,
    own_netns: bool,
    ipc: Share,
) -> Result<(), SpecError> {
    for name in sysctls.keys() {
        let is_ipc =
            IPC_EXACT.contains(&name.as_str()) || name == IPC_EXTRA || name.starts_with(IPC_PREFIX);
        let is_net = name.starts_with(NET_PREFIX);
        let field = format!("linux.sysctls[{name:?}]");
        if is_net && !own_netns {
            return Err(SpecError::invalid(
                &field,
                "a net.* sysctl needs the pod's own network namespace (not host network)",
            ));
        }
        if is_ipc && ipc == Share::Node {
            return Err(SpecError::invalid(
                &field,
                "an IPC sysctl needs the pod's own IPC namespace",
            ));
        }
        if !is_ipc && !is_net {
            return Err(SpecError::invalid(
                &field,
                "not a namespaced sysctl; it would change the whole node",
            ));
        }
    }
    if !sysctls.is_empty() {
        spec.linux_mut().as_mut().expect("linux").set_sysctl(Some(sysctls.clone()));
    }
    Ok(())
}
