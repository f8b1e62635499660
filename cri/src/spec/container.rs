//! The OCI spec of a container, composed from the spec steps: the image's process merged with
//! the config, identity, security, the pod's namespaces by path, mounts, resources, cgroup and
//! the CRI annotations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::api::v1::{ContainerConfig, PodSandboxConfig};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};

use super::cgroups::{cgroups_path, set_cgroups_path};
use super::identity::{resolve, set_identity, ImageUsers};
use super::image_config::{set_process, ImageProcess};
use super::lsm::NodeLsm;
use super::process::{clamp_oom_score_adj, set_oom_score_adj, set_privileged, set_readonly_rootfs};
use super::{capabilities, defaults, namespaces, resources, user_mounts, SpecError};
use crate::labels::cri_annotations as ann;

/// Where the container's PID namespace comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PidMode {
    Own,
    Node,
    Join(PathBuf),
}

/// The pod's namespaces to join by path; `None` is the node's.
#[derive(Debug, Clone)]
pub struct PodNamespacePaths {
    pub net: Option<PathBuf>,
    pub ipc: Option<PathBuf>,
    pub uts: Option<PathBuf>,
    pub pid: PidMode,
    /// The pod's own user namespace.
    pub user: Option<super::UserNamespace>,
}

/// What the container spec needs beyond its config.
#[derive(Debug, Clone)]
pub struct ContainerSpecOptions<'a> {
    pub id: &'a str,
    pub sandbox_id: &'a str,
    pub sandbox: &'a PodSandboxConfig,
    pub image: &'a ImageProcess,
    pub image_name: &'a str,
    pub users: &'a ImageUsers,
    pub namespaces: PodNamespacePaths,
    pub etc_files: Option<super::EtcFiles>,
    pub shm: Option<&'a Path>,
    pub systemd_cgroup: bool,
    /// Whether runc can set hugepage limits on this node.
    pub hugetlb: bool,
    pub daemon_oom_score_adj: i32,
    /// The security modules the node runs.
    pub lsm: NodeLsm,
    /// The edits of the CDI devices the container asks for, in order.
    pub cdi: &'a [super::CdiEdits],
}

fn set_namespaces(spec: &mut Spec, ns: &PodNamespacePaths) -> Result<(), SpecError> {
    let entry = |typ, path: Option<&PathBuf>| namespaces::entry(typ, path.map(PathBuf::as_path));
    let mut list: Vec<LinuxNamespace> = vec![entry(LinuxNamespaceType::Mount, None)?];
    for (typ, path) in [
        (LinuxNamespaceType::Network, &ns.net),
        (LinuxNamespaceType::Ipc, &ns.ipc),
        (LinuxNamespaceType::Uts, &ns.uts),
    ] {
        if let Some(p) = path {
            list.push(entry(typ, Some(p))?);
        }
    }
    match &ns.pid {
        PidMode::Own => list.push(entry(LinuxNamespaceType::Pid, None)?),
        PidMode::Join(p) => list.push(entry(LinuxNamespaceType::Pid, Some(p))?),
        PidMode::Node => {}
    }
    spec.linux_mut().as_mut().expect("linux").set_namespaces(Some(list));
    if let Some(user) = &ns.user {
        namespaces::set_user_namespace(spec, user)?;
        if ns.net.is_none() {
            super::mounts::bind_host_sys(spec)?;
        }
    }
    Ok(())
}

fn set_security(
    spec: &mut Spec,
    config: &ContainerConfig,
    o: &ContainerSpecOptions,
) -> Result<(), SpecError> {
    let sc = config.linux.as_ref().and_then(|l| l.security_context.clone()).unwrap_or_default();
    set_identity(spec, &resolve(&o.image.user, &sc, o.users)?);
    set_readonly_rootfs(spec, sc.readonly_rootfs);
    if sc.privileged {
        set_privileged(spec)?;
        super::devices::add_host_devices(spec)?;
    } else {
        capabilities::set_capabilities(spec, sc.capabilities.as_ref())?;
        let linux = spec.linux_mut().as_mut().expect("linux");
        if !sc.masked_paths.is_empty() {
            linux.set_masked_paths(Some(sc.masked_paths.clone()));
        }
        if !sc.readonly_paths.is_empty() {
            linux.set_readonly_paths(Some(sc.readonly_paths.clone()));
        }
    }
    super::devices::add_devices(spec, &config.devices)?;
    super::lsm::set_lsm(spec, &sc, o.lsm)?;
    super::process_of(spec).set_no_new_privileges(Some(sc.no_new_privs));
    super::seccomp::set_seccomp(spec, sc.seccomp.as_ref(), sc.privileged)
}

fn set_mounts(
    spec: &mut Spec,
    config: &ContainerConfig,
    o: &ContainerSpecOptions,
) -> Result<(), SpecError> {
    if let Some(files) = &o.etc_files {
        super::mounts::add_etc_files(spec, files)?;
    }
    if let Some(shm) = o.shm {
        super::shm::bind_pod_shm(spec, shm)?;
    }
    user_mounts::add_user_mounts(spec, &config.mounts)?;
    if let Some(p) = user_mounts::root_propagation(&config.mounts) {
        spec.linux_mut().as_mut().expect("linux").set_rootfs_propagation(Some(p.into()));
    }
    Ok(())
}

/// The annotations shims read; they win over the config's own.
fn cri_annotations(config: &ContainerConfig, o: &ContainerSpecOptions) -> HashMap<String, String> {
    let pod = o.sandbox.metadata.clone().unwrap_or_default();
    let name = config.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    HashMap::from([
        (ann::CONTAINER_TYPE.to_string(), ann::CONTAINER_TYPE_CONTAINER.to_string()),
        (ann::SANDBOX_ID.to_string(), o.sandbox_id.to_string()),
        (ann::SANDBOX_NAME.to_string(), pod.name),
        (ann::SANDBOX_NAMESPACE.to_string(), pod.namespace),
        (ann::SANDBOX_UID.to_string(), pod.uid),
        (ann::CONTAINER_NAME.to_string(), name),
        (ann::IMAGE_NAME.to_string(), o.image_name.to_string()),
    ])
}

pub fn container_spec(
    config: &ContainerConfig,
    o: &ContainerSpecOptions,
) -> Result<Spec, SpecError> {
    let mut spec = defaults::base()?;
    set_process(&mut spec, o.image, config)?;
    set_security(&mut spec, config, o)?;
    set_namespaces(&mut spec, &o.namespaces)?;
    set_mounts(&mut spec, config, o)?;
    let resources = config.linux.as_ref().and_then(|l| l.resources.clone()).unwrap_or_default();
    resources::set_resources(&mut spec, &resources, o.hugetlb)?;
    set_oom_score_adj(
        &mut spec,
        clamp_oom_score_adj(resources.oom_score_adj as i32, o.daemon_oom_score_adj),
    );
    let parent = o.sandbox.linux.as_ref().map(|l| l.cgroup_parent.clone()).unwrap_or_default();
    set_cgroups_path(&mut spec, cgroups_path(&parent, o.id, o.systemd_cgroup)?);
    // Last, as containerd does: a device's edits win over the config's.
    super::cdi_edits::apply(&mut spec, o.cdi)?;
    let mut annotations = config.annotations.clone();
    annotations.extend(cri_annotations(config, o));
    spec.set_annotations(Some(annotations));
    Ok(spec)
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
