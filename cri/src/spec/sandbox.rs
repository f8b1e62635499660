//! The OCI spec of a pod's sandbox (pause) container, composed from the spec steps.

use std::collections::HashMap;
use std::path::Path;

use crate::api::v1::{NamespaceMode, PodSandboxConfig};
use oci_spec::runtime::Spec;

use super::cgroups::{cgroups_path, set_cgroups_path};
use super::namespaces::{set_pod_namespaces, Pinned, Share};
use super::process::{
    clamp_oom_score_adj, set_args, set_oom_score_adj, set_privileged, set_readonly_rootfs, set_user,
};
use super::sysctls::set_sysctls;
use super::{defaults, SpecError};
use crate::labels::cri_annotations as ann;

/// The OOM score kubelet's runtimes give sandboxes: killed last.
const SANDBOX_OOM_SCORE_ADJ: i32 = -998;

/// What the sandbox spec needs beyond the pod's config.
#[derive(Debug, Clone)]
pub struct SandboxSpecOptions<'a> {
    pub id: &'a str,
    /// The pinned network namespace (`None` for a host-network pod), and the IPC and UTS
    /// namespaces when cricket pinned those too.
    pub netns: Option<&'a Path>,
    pub ipcns: Option<&'a Path>,
    pub utsns: Option<&'a Path>,
    /// The pod's own user namespace, pinned.
    pub userns: Option<&'a super::UserNamespace>,
    /// The pause image's entrypoint and command.
    pub args: Vec<String>,
    pub image_name: &'a str,
    pub systemd_cgroup: bool,
    /// The daemon's own `oom_score_adj`, the lowest a child may get.
    pub daemon_oom_score_adj: i32,
    /// The pod's /etc files to bind in, if any.
    pub etc_files: Option<super::EtcFiles>,
    /// The pod's own /dev/shm (a tmpfs on the host), if it has one.
    pub shm: Option<&'a Path>,
}

fn share(mode: i32) -> Share {
    if mode == NamespaceMode::Node as i32 {
        Share::Node
    } else {
        Share::Pod
    }
}

pub fn sandbox_spec(config: &PodSandboxConfig, o: &SandboxSpecOptions) -> Result<Spec, SpecError> {
    let metadata =
        config.metadata.as_ref().ok_or_else(|| SpecError::invalid("config.metadata", "missing"))?;
    let linux = config.linux.clone().unwrap_or_default();
    let security = linux.security_context.clone().unwrap_or_default();
    let namespaces = security.namespace_options.clone().unwrap_or_default();
    let host_network = share(namespaces.network) == Share::Node;
    let (pid, ipc) = (share(namespaces.pid), share(namespaces.ipc));

    let mut spec = defaults::base()?;
    set_args(&mut spec, o.args.clone());
    let net = if host_network { None } else { o.netns };
    let pinned = Pinned { net, ipc: o.ipcns, uts: o.utsns, user: o.userns };
    set_pod_namespaces(&mut spec, pinned, pid, ipc)?;
    if host_network && o.userns.is_some() {
        super::mounts::bind_host_sys(&mut spec)?;
    }
    if !host_network && !config.hostname.is_empty() {
        spec.set_hostname(Some(config.hostname.clone()));
    }
    set_sysctls(&mut spec, &linux.sysctls, !host_network, ipc)?;
    let prefix = "config.linux.security_context";
    set_user(
        &mut spec,
        security.run_as_user.map(|v| v.value),
        security.run_as_group.map(|v| v.value),
        prefix,
    )?;
    set_readonly_rootfs(&mut spec, security.readonly_rootfs);
    if security.privileged {
        set_privileged(&mut spec)?;
    }
    super::seccomp::set_seccomp(&mut spec, security.seccomp.as_ref(), security.privileged)?;
    set_oom_score_adj(
        &mut spec,
        clamp_oom_score_adj(SANDBOX_OOM_SCORE_ADJ, o.daemon_oom_score_adj),
    );
    set_cgroups_path(&mut spec, cgroups_path(&linux.cgroup_parent, o.id, o.systemd_cgroup)?);
    if let Some(files) = &o.etc_files {
        super::mounts::add_etc_files(&mut spec, files)?;
    }
    if let Some(shm) = o.shm {
        super::shm::bind_pod_shm(&mut spec, shm)?;
    }

    let mut annotations = HashMap::from([
        (ann::CONTAINER_TYPE.to_string(), ann::CONTAINER_TYPE_SANDBOX.to_string()),
        (ann::SANDBOX_ID.to_string(), o.id.to_string()),
        (ann::SANDBOX_NAME.to_string(), metadata.name.clone()),
        (ann::SANDBOX_NAMESPACE.to_string(), metadata.namespace.clone()),
        (ann::SANDBOX_UID.to_string(), metadata.uid.clone()),
        (ann::SANDBOX_LOG_DIRECTORY.to_string(), config.log_directory.clone()),
        (ann::IMAGE_NAME.to_string(), o.image_name.to_string()),
    ]);
    // Shims that size a VM (kata) read the pod's resources from these.
    if let Some(r) = linux.resources.as_ref() {
        annotations.insert(ann::SANDBOX_CPU_PERIOD.into(), r.cpu_period.to_string());
        annotations.insert(ann::SANDBOX_CPU_QUOTA.into(), r.cpu_quota.to_string());
        annotations.insert(ann::SANDBOX_CPU_SHARES.into(), r.cpu_shares.to_string());
        annotations.insert(ann::SANDBOX_MEMORY.into(), r.memory_limit_in_bytes.to_string());
    }
    spec.set_annotations(Some(annotations));
    Ok(spec)
}

#[cfg(test)]
#[path = "sandbox_tests.rs"]
mod tests;
