//! The container's own mounts from `ContainerConfig.mounts`: bind mounts with read-only and
//! propagation (private, rslave, rshared). Host paths arrive already resolved (see
//! `container::host_paths`).

use std::path::Path;

use k8s_cri::v1::{Mount, MountPropagation};
use oci_spec::runtime::{MountBuilder, Spec};

use super::SpecError;

fn propagation(mode: i32) -> &'static str {
    match MountPropagation::try_from(mode) {
        Ok(MountPropagation::PropagationHostToContainer) => "rslave",
        Ok(MountPropagation::PropagationBidirectional) => "rshared",
        _ => "rprivate",
    }
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
        list.push(
            MountBuilder::default()
                .destination(&m.container_path)
                .typ("bind")
                .source(&m.host_path)
                .options(options)
                .build()?,
        );
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
        let bad = [m("data", "/x", false, MountPropagation::PropagationPrivate)];
        assert!(add_user_mounts(&mut spec, &bad)
            .unwrap_err()
            .to_string()
            .contains("config.mounts[0].container_path"));
    }
}
