//! A pod's own user namespace (`userns_options` mode POD): its ID mappings checked, and the
//! pod refused, naming what is missing, where the node cannot give one.

use crate::api::v1::{IdMapping, NamespaceMode, UserNamespace};
use crate::context::Context;
use crate::error::Error;
use crate::sys::userns::IdRange;

const FIELD: &str = "config.linux.security_context.namespace_options.userns_options";

/// A pod's UID and GID mappings.
pub type IdMappings = (Vec<IdRange>, Vec<IdRange>);

fn ranges(field: &str, list: &[IdMapping]) -> Result<Vec<IdRange>, Error> {
    if list.is_empty() {
        return Err(Error::invalid(
            format!("{FIELD}.{field}"),
            "mode POD needs at least one mapping",
        ));
    }
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let end = |start: u32| u64::from(start) + u64::from(m.length);
        if m.length == 0 || end(m.host_id) > 1 << 32 || end(m.container_id) > 1 << 32 {
            return Err(Error::invalid(
                format!("{FIELD}.{field}[{i}]"),
                format!(
                    "{}:{}:{} is not a range of 32-bit IDs",
                    m.container_id, m.host_id, m.length
                ),
            ));
        }
        out.push(IdRange { container_id: m.container_id, host_id: m.host_id, length: m.length });
    }
    // The image's root must map: its files are owned by container ID 0.
    if !out.iter().any(|r| r.container_id == 0) {
        return Err(Error::invalid(format!("{FIELD}.{field}"), "container ID 0 is not mapped"));
    }
    Ok(out)
}

/// The labels that make containerd's snapshotter shift a rootfs to `mappings`: idmapped
/// mounts of the image's layers (`containerd.io/snapshot/{uid,gid}mapping`,
/// `container:host:length` ranges joined by commas).
pub fn snapshot_labels(mappings: &IdMappings) -> std::collections::HashMap<String, String> {
    let text = |ranges: &[IdRange]| {
        let parts: Vec<String> = ranges
            .iter()
            .map(|r| format!("{}:{}:{}", r.container_id, r.host_id, r.length))
            .collect();
        parts.join(",")
    };
    std::collections::HashMap::from([
        ("containerd.io/snapshot/uidmapping".to_string(), text(&mappings.0)),
        ("containerd.io/snapshot/gidmapping".to_string(), text(&mappings.1)),
    ])
}

/// The pod's user namespace as its specs join it: the pin at `path` and its mappings.
pub fn spec_user_namespace(
    path: &std::path::Path,
    mappings: &IdMappings,
) -> crate::spec::UserNamespace {
    let ranges =
        |list: &[IdRange]| list.iter().map(|r| (r.container_id, r.host_id, r.length)).collect();
    crate::spec::UserNamespace {
        path: path.to_path_buf(),
        uids: ranges(&mappings.0),
        gids: ranges(&mappings.1),
    }
}

/// The mappings of a pod already running (checked when it was made); `None` without its own
/// user namespace.
pub fn of_pod(config: &crate::api::v1::PodSandboxConfig) -> Option<IdMappings> {
    let options = config
        .linux
        .as_ref()
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.as_ref())
        .and_then(|n| n.userns_options.as_ref());
    requested(options).ok().flatten()
}

/// The mappings `options` asks for, checked; `None` for the node's user namespace.
pub fn requested(options: Option<&UserNamespace>) -> Result<Option<IdMappings>, Error> {
    let Some(u) = options else { return Ok(None) };
    match NamespaceMode::try_from(u.mode) {
        Ok(NamespaceMode::Node) => Ok(None),
        Ok(NamespaceMode::Pod) => Ok(Some((ranges("uids", &u.uids)?, ranges("gids", &u.gids)?))),
        _ => Err(Error::invalid(format!("{FIELD}.mode"), "only POD and NODE are supported")),
    }
}

/// The pod's mappings, refused where its handler or this node cannot make its user namespace
/// (Status reports user namespaces for the handlers that run the `runc` on PATH only).
pub async fn pod_mappings(
    ctx: &Context,
    handler_name: &str,
    options: Option<&UserNamespace>,
) -> Result<Option<IdMappings>, Error> {
    let wanted = requested(options)?;
    if wanted.is_some() {
        if !super::handler::runs_path_runc(super::handler::handler(ctx, handler_name)?) {
            return Err(Error::invalid(
                "runtime_handler",
                format!(
                    "{handler_name:?} gives no pod its own user namespace; {FIELD} asks for one"
                ),
            ));
        }
        ctx.user_namespaces.check(ctx).await.map_err(Error::failed_precondition)?;
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uids: Vec<IdMapping>) -> UserNamespace {
        let gids = uids.clone();
        UserNamespace { mode: NamespaceMode::Pod as i32, uids, gids }
    }

    fn map(container_id: u32, host_id: u32, length: u32) -> IdMapping {
        IdMapping { host_id, container_id, length }
    }

    #[test]
    fn pod_mode_takes_kubelets_mappings_and_node_mode_none() {
        let got = requested(Some(&pod(vec![map(0, 65536, 65536)]))).unwrap().unwrap();
        assert_eq!(got.0, [IdRange { container_id: 0, host_id: 65536, length: 65536 }]);
        let node = UserNamespace { mode: NamespaceMode::Node as i32, ..Default::default() };
        assert_eq!(requested(Some(&node)).unwrap(), None);
        assert_eq!(requested(None).unwrap(), None);
    }

    #[test]
    fn snapshot_labels_are_containerds_range_lists() {
        let got =
            requested(Some(&pod(vec![map(0, 65536, 65536), map(65536, 1 << 20, 10)]))).unwrap();
        let labels = snapshot_labels(&got.unwrap());
        assert_eq!(labels["containerd.io/snapshot/uidmapping"], "0:65536:65536,65536:1048576:10");
        assert_eq!(labels["containerd.io/snapshot/gidmapping"], "0:65536:65536,65536:1048576:10");
    }

    #[test]
    fn bad_mappings_are_refused_by_field() {
        for (bad, field) in [
            (pod(vec![]), "userns_options.uids"),
            (pod(vec![map(0, 65536, 0)]), "userns_options.uids[0]"),
            (pod(vec![map(0, u32::MAX, 2)]), "userns_options.uids[0]"),
            (pod(vec![map(1, 65536, 10)]), "userns_options.uids"),
            (
                UserNamespace { mode: NamespaceMode::Container as i32, ..Default::default() },
                "userns_options.mode",
            ),
        ] {
            let err = requested(Some(&bad)).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument { field: f, .. } if f.ends_with(field)),
                "{err:?}"
            );
        }
    }
}
