//! Which of its pod's namespaces a container joins, by path: the pins of a pod without a
//! pause, or the pause's `/proc/<pid>/ns/*`.

use std::path::PathBuf;

use crate::api::v1::{ContainerConfig, NamespaceMode};
use crate::error::Error;

use crate::context::Context;
use crate::spec::{PidMode, PodNamespacePaths};
use crate::store::sandboxes::Sandbox;

fn proc_ns(pid: u32, kind: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{kind}"))
}

fn pinned(path: &str) -> Option<PathBuf> {
    (!path.is_empty()).then(|| PathBuf::from(path))
}

pub fn pod_namespace_paths(
    ctx: &Context,
    sandbox: &Sandbox,
    config: &ContainerConfig,
) -> Result<PodNamespacePaths, Error> {
    let pod_ns = sandbox
        .config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or_default();
    // A config without options (crictl's samples) takes the pod's, as kubelet would send.
    let own_ns = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or_else(|| pod_ns.clone());
    let m = &sandbox.meta;
    let pause = m.pause.then_some(sandbox.status.pid).filter(|p| *p > 0);
    let (ipc, uts) = match pause {
        Some(pid) => (
            (pod_ns.ipc != NamespaceMode::Node as i32).then(|| proc_ns(pid, "ipc")),
            (pod_ns.network != NamespaceMode::Node as i32).then(|| proc_ns(pid, "uts")),
        ),
        None => (pinned(&m.ipcns), pinned(&m.utsns)),
    };
    let pid = match NamespaceMode::try_from(own_ns.pid).unwrap_or(NamespaceMode::Container) {
        NamespaceMode::Node => PidMode::Node,
        NamespaceMode::Container => PidMode::Own,
        NamespaceMode::Pod => PidMode::Join(proc_ns(
            pause.ok_or_else(|| Error::failed_precondition("namespace_options.pid: POD needs the pod's shared PID namespace (a pause process)"))?,
            "pid",
        )),
        NamespaceMode::Target => {
            let target = ctx.containers.get(&own_ns.target_id).filter(|c| c.status.pid > 0).ok_or_else(|| {
                Error::not_found(format!("namespace_options.target_id: no running container {:?}", own_ns.target_id))
            })?;
            PidMode::Join(proc_ns(target.status.pid, "pid"))
        }
    };
    let user = pinned(&m.userns).zip(crate::sandbox::userns::of_pod(&sandbox.config));
    let user =
        user.map(|(path, mappings)| crate::sandbox::userns::spec_user_namespace(&path, &mappings));
    let wants_own_user =
        own_ns.userns_options.as_ref().is_some_and(|u| u.mode == NamespaceMode::Pod as i32);
    if wants_own_user && user.is_none() {
        return Err(Error::invalid(
            "config.linux.security_context.namespace_options.userns_options",
            "mode POD, but the pod sandbox has no user namespace of its own",
        ));
    }
    Ok(PodNamespacePaths { net: pinned(&m.netns), ipc, uts, pid, user })
}
