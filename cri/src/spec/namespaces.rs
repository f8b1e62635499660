//! Which namespaces a pod's processes get: its own, the node's, or a pinned one by path.

use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, Spec};

use super::SpecError;

/// How a pod shares a namespace kind with the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// A namespace of the pod's own.
    Pod,
    /// The node's (no namespace entry: the runtime's own is inherited).
    Node,
}

/// The pod's namespaces: mount and UTS always its own (UTS the node's with host networking),
/// network joined by path when pinned, PID and IPC per `pid`/`ipc`.
pub fn set_pod_namespaces(spec: &mut Spec, netns: Option<&Path>, pid: Share, ipc: Share) -> Result<(), SpecError> {
    let mut list = vec![LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Mount).build()?];
    if let Some(path) = netns {
        list.push(LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Network).path(path).build()?);
        list.push(LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Uts).build()?);
    }
    if pid == Share::Pod {
        list.push(LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Pid).build()?);
    }
    if ipc == Share::Pod {
        list.push(LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Ipc).build()?);
    }
    spec.linux_mut().as_mut().expect("linux").set_namespaces(Some(list));
    Ok(())
}
