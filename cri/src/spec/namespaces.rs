//! Which namespaces a pod's processes get: its own, the node's, or a pinned one by path.

use std::path::Path;

use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Spec,
};

use super::SpecError;

/// How a pod shares a namespace kind with the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// A namespace of the pod's own.
    Pod,
    /// The node's (no namespace entry: the runtime's own is inherited).
    Node,
}

/// Namespaces pinned by cricket, joined by path; `None` means a new one (or none for the node's).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pinned<'a> {
    pub net: Option<&'a Path>,
    pub ipc: Option<&'a Path>,
    pub uts: Option<&'a Path>,
    /// The pod's own user namespace, owner of the others.
    pub user: Option<&'a UserNamespace>,
}

/// A pod's own user namespace: its pin and its mappings (`(container, host, length)` ranges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNamespace {
    pub path: std::path::PathBuf,
    pub uids: Vec<(u32, u32, u32)>,
    pub gids: Vec<(u32, u32, u32)>,
}

fn mappings(ranges: &[(u32, u32, u32)]) -> Result<Vec<LinuxIdMapping>, SpecError> {
    ranges
        .iter()
        .map(|&(container_id, host_id, size)| {
            Ok(LinuxIdMappingBuilder::default()
                .container_id(container_id)
                .host_id(host_id)
                .size(size)
                .build()?)
        })
        .collect()
}

/// Joins the pod's user namespace by path. The mappings go in the spec too, matching the
/// namespace: containerd reads them to let the container's root into its bundle directory.
pub fn set_user_namespace(spec: &mut Spec, user: &UserNamespace) -> Result<(), SpecError> {
    let linux = spec.linux_mut().as_mut().expect("linux");
    let mut list = linux.namespaces().clone().unwrap_or_default();
    list.retain(|n| n.typ() != LinuxNamespaceType::User);
    list.insert(0, entry(LinuxNamespaceType::User, Some(&user.path))?);
    linux.set_namespaces(Some(list));
    linux.set_uid_mappings(Some(mappings(&user.uids)?));
    linux.set_gid_mappings(Some(mappings(&user.gids)?));
    Ok(())
}

pub fn entry(
    typ: LinuxNamespaceType,
    path: Option<&Path>,
) -> Result<oci_spec::runtime::LinuxNamespace, SpecError> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    Ok(b.build()?)
}

/// The pod's namespaces: mount always its own, UTS its own unless it has host networking,
/// network joined by path when pinned, PID and IPC per `pid`/`ipc`; IPC and UTS by path where
/// cricket pinned them.
pub fn set_pod_namespaces(
    spec: &mut Spec,
    pinned: Pinned,
    pid: Share,
    ipc: Share,
) -> Result<(), SpecError> {
    let mut list = vec![entry(LinuxNamespaceType::Mount, None)?];
    if let Some(path) = pinned.net {
        list.push(entry(LinuxNamespaceType::Network, Some(path))?);
        list.push(entry(LinuxNamespaceType::Uts, pinned.uts)?);
    }
    if pid == Share::Pod {
        list.push(entry(LinuxNamespaceType::Pid, None)?);
    }
    if ipc == Share::Pod {
        list.push(entry(LinuxNamespaceType::Ipc, pinned.ipc)?);
    }
    spec.linux_mut().as_mut().expect("linux").set_namespaces(Some(list));
    match pinned.user {
        Some(user) => set_user_namespace(spec, user),
        None => Ok(()),
    }
}
