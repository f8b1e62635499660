//! The container's own mounts from `ContainerConfig.mounts`: bind mounts with read-only,
//! propagation (private, rslave, rshared), the extra flags of CRI 1.37's `mount_options`, and
//! the ID mappings of an idmapped mount (kubelet's volumes of a pod with a user namespace).
//! Host paths arrive already resolved (see `container::host_paths`).

use std::path::Path;

use crate::api::v1::{IdMapping, Mount, MountPropagation};
use oci_spec::runtime::{LinuxIdMapping, LinuxIdMappingBuilder, MountBuilder, Spec};

use super::SpecError;

/// The `mount_options` a bind mount may carry: per-mount flags that runc applies by
/// remounting the bind, none of which widens what the container may reach.
pub const MOUNT_OPTIONS: &[&str] = &[
    "noexec",
    "exec",
    "nodev",
    "dev",
    "nosuid",
    "suid",
    "noatime",
    "nodiratime",
    "relatime",
    "strictatime",
];

fn propagation(mode: i32) -> &'static str {
    match MountPropagation::try_from(mode) {
        Ok(MountPropagation::PropagationHostToContainer) => "rslave",
        Ok(MountPropagation::PropagationBidirectional) => "rshared",
        _ => "rprivate",
    }
}

fn id_mappings(list: &[IdMapping]) -> Result<Vec<LinuxIdMapping>, SpecError> {
    list.iter()
        .map(|m| {
            Ok(LinuxIdMappingBuilder::default()
                .container_id(m.container_id)
                .host_id(m.host_id)
                .size(m.length)
                .build()?)
        })
        .collect()
}

/// Adds the config's mounts; a destination they cover replaces the runtime's own mount there
/// (for example a pod that brings its own /etc/hosts).
pub fn add_user_mounts(spec: &mut Spec, mounts: &[Mount]) -> Result<(), SpecError> {
    let mut list = spec.mounts().clone().unwrap_or_default();
    for (i, m) in mounts.iter().enumerate() {
        let field = |f: &str| format!("config.mounts[{i}].{f}");
        if !m.container_path.starts_with('/') {
            return Err(SpecError::invalid(
                &field("container_path"),
                format!("{:?} is not absolute", m.container_path),
            ));
        }
        if !m.host_path.starts_with('/') {
            return Err(SpecError::invalid(
                &field("host_path"),
                format!("{:?} is not absolute", m.host_path),
            ));
        }
        list.retain(|existing| existing.destination() != Path::new(&m.container_path));
        let mut options = vec![
            "rbind".to_string(),
            propagation(m.propagation).to_string(),
            if m.readonly { "ro" } else { "rw" }.to_string(),
        ];
        if m.recursive_read_only {
            if !m.readonly {
                return Err(SpecError::invalid(&field("recursive_read_only"), "needs readonly"));
            }
            if m.propagation != MountPropagation::PropagationPrivate as i32 {
                return Err(SpecError::invalid(
                    &field("recursive_read_only"),
                    "needs private propagation",
                ));
            }
            options.push("rro".into());
        }
        for (j, option) in m.mount_options.iter().enumerate() {
            if !MOUNT_OPTIONS.contains(&option.as_str()) {
                return Err(SpecError::invalid(
                    &field(&format!("mount_options[{j}]")),
                    format!("{option:?} is not one of {}", MOUNT_OPTIONS.join(", ")),
                ));
            }
            options.push(option.clone());
        }
        let mut mount = MountBuilder::default()
            .destination(&m.container_path)
            .typ("bind")
            .source(&m.host_path)
            .options(options)
            .build()?;
        // runc makes an idmapped mount of a bind that carries both mappings.
        if !m.uid_mappings.is_empty() || !m.gid_mappings.is_empty() {
            if m.uid_mappings.is_empty() || m.gid_mappings.is_empty() {
                return Err(SpecError::invalid(
                    &field("uid_mappings"),
                    "an idmapped mount needs both uid_mappings and gid_mappings",
                ));
            }
            mount.set_uid_mappings(Some(id_mappings(&m.uid_mappings)?));
            mount.set_gid_mappings(Some(id_mappings(&m.gid_mappings)?));
        }
        list.push(mount);
    }
    spec.set_mounts(Some(list));
    Ok(())
}

/// The root propagation runc needs so that rslave/rshared mounts can work.
pub fn root_propagation(mounts: &[Mount]) -> Option<&'static str> {
    let modes: Vec<&str> = mounts.iter().map(|m| propagation(m.propagation)).collect();
    if modes.contains(&"rshared") {
        Some("rshared")
    } else if modes.contains(&"rslave") {
        Some("rslave")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_carry_mode_and_propagation_and_replace_runtime_ones() {
        let mut spec = Spec::default();
        let m = |c: &str, h: &str, ro: bool, p: MountPropagation| Mount {
            container_path: c.into(),
            host_path: h.into(),
            readonly: ro,
            propagation: p as i32,
            ..Default::default()
        };
        let mounts = [
            m("/data", "/srv/data", true, MountPropagation::PropagationHostToContainer),
            m("/proc", "/srv/p", false, MountPropagation::PropagationBidirectional),
        ];
        add_user_mounts(&mut spec, &mounts).unwrap();
        let list = spec.mounts().clone().unwrap();
        let data = list.iter().find(|x| x.destination() == Path::new("/data")).unwrap();
        assert_eq!(data.options().clone().unwrap(), ["rbind", "rslave", "ro"]);
        assert_eq!(
            list.iter().filter(|x| x.destination() == Path::new("/proc")).count(),
            1,
            "the runtime's /proc was replaced"
        );
        assert_eq!(root_propagation(&mounts), Some("rshared"));
        let mut flagged = m("/f", "/srv/f", false, MountPropagation::PropagationPrivate);
        flagged.mount_options = vec!["noexec".into(), "nosuid".into(), "nodev".into()];
        add_user_mounts(&mut spec, std::slice::from_ref(&flagged)).unwrap();
        let list = spec.mounts().clone().unwrap();
        let f = list.iter().find(|x| x.destination() == Path::new("/f")).unwrap();
        assert_eq!(
            f.options().clone().unwrap(),
            ["rbind", "rprivate", "rw", "noexec", "nosuid", "nodev"]
        );
        flagged.mount_options = vec!["nosuid".into(), "shared".into()];
        let err = add_user_mounts(&mut spec, &[flagged]).unwrap_err().to_string();
        assert!(err.contains("config.mounts[0].mount_options[1]"), "{err}");
        let bad = [m("data", "/x", false, MountPropagation::PropagationPrivate)];
        assert!(add_user_mounts(&mut spec, &bad)
            .unwrap_err()
            .to_string()
            .contains("config.mounts[0].container_path"));
    }

    #[test]
    fn a_mount_with_both_mappings_is_idmapped_and_with_one_is_refused() {
        let map = IdMapping { host_id: 65536, container_id: 0, length: 65536 };
        let mut volume = Mount {
            container_path: "/vol".into(),
            host_path: "/srv/vol".into(),
            uid_mappings: vec![map],
            gid_mappings: vec![map],
            ..Default::default()
        };
        let mut spec = Spec::default();
        add_user_mounts(&mut spec, std::slice::from_ref(&volume)).unwrap();
        let list = spec.mounts().clone().unwrap();
        let vol = list.iter().find(|x| x.destination() == Path::new("/vol")).unwrap();
        let uids = vol.uid_mappings().clone().unwrap();
        assert_eq!((uids[0].container_id(), uids[0].host_id(), uids[0].size()), (0, 65536, 65536));
        assert!(vol.gid_mappings().is_some());
        volume.gid_mappings.clear();
        let err = add_user_mounts(&mut spec, &[volume]).unwrap_err().to_string();
        assert!(err.contains("config.mounts[0].uid_mappings"), "{err}");
    }
}
