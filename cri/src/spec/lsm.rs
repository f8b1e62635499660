//! Linux security modules: AppArmor and SELinux, each applied only where the node has it.
//!
//! AppArmor: a Localhost profile (loaded on the node by its admin, as kubelet expects) is
//! named in the spec; RuntimeDefault and Unconfined leave the process as runc starts it, since
//! cricket loads no default profile of its own yet. On a node without AppArmor a Localhost
//! profile is refused rather than silently dropped. SELinux: `selinux_options` become the
//! process and mount labels on a node with SELinux; without it they are ignored (as
//! containerd does).

use k8s_cri::v1::security_profile::ProfileType;
use k8s_cri::v1::{LinuxContainerSecurityContext, SeLinuxOption};
use oci_spec::runtime::Spec;

use super::SpecError;

/// Which LSMs the node runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeLsm {
    pub apparmor: bool,
    pub selinux: bool,
}

impl NodeLsm {
    /// Asks the kernel.
    pub fn detect() -> NodeLsm {
        let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|v| v.trim() == "Y");
        NodeLsm { apparmor, selinux: std::path::Path::new("/sys/fs/selinux/enforce").exists() }
    }
}

const F: &str = "config.linux.security_context";

/// The AppArmor profile to name, if any: the typed field first, then the deprecated string
/// (`localhost/<name>`, `runtime/default`, `unconfined`).
fn apparmor_profile(sc: &LinuxContainerSecurityContext) -> Result<Option<String>, SpecError> {
    if let Some(p) = &sc.apparmor {
        return match ProfileType::try_from(p.profile_type) {
            Ok(ProfileType::Localhost) if p.localhost_ref.is_empty() => Err(SpecError::invalid(&format!("{F}.apparmor.localhost_ref"), "empty")),
            Ok(ProfileType::Localhost) => Ok(Some(p.localhost_ref.trim_start_matches("localhost/").to_string())),
            Ok(_) => Ok(None),
            Err(_) => Err(SpecError::invalid(&format!("{F}.apparmor.profile_type"), format!("unknown type {}", p.profile_type))),
        };
    }
    #[allow(deprecated)]
    let legacy = sc.apparmor_profile.as_str();
    Ok(legacy.strip_prefix("localhost/").map(str::to_string))
}

fn selinux_label(o: &SeLinuxOption) -> Option<String> {
    let parts = [&o.user, &o.role, &o.r#type, &o.level];
    parts.iter().any(|p| !p.is_empty()).then(|| parts.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(":"))
}

pub fn set_lsm(spec: &mut Spec, sc: &LinuxContainerSecurityContext, node: NodeLsm) -> Result<(), SpecError> {
    if !sc.privileged {
        if let Some(profile) = apparmor_profile(sc)? {
            if !node.apparmor {
                return Err(SpecError::invalid(&format!("{F}.apparmor"), format!("profile {profile:?}: AppArmor is not enabled on this node")));
            }
            spec.process_mut().as_mut().expect("process").set_apparmor_profile(Some(profile));
        }
    }
    if let Some(label) = sc.selinux_options.as_ref().and_then(selinux_label).filter(|_| node.selinux) {
        spec.process_mut().as_mut().expect("process").set_selinux_label(Some(label.clone()));
        spec.linux_mut().as_mut().expect("linux").set_mount_label(Some(label));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_cri::v1::SecurityProfile;

    use super::*;

    fn ctx(f: impl FnOnce(&mut LinuxContainerSecurityContext)) -> LinuxContainerSecurityContext {
        let mut c = LinuxContainerSecurityContext::default();
        f(&mut c);
        c
    }

    fn localhost(name: &str) -> Option<SecurityProfile> {
        Some(SecurityProfile { profile_type: ProfileType::Localhost as i32, localhost_ref: name.into() })
    }

    #[test]
    fn apparmor_names_a_localhost_profile_where_the_node_has_apparmor() {
        let with = NodeLsm { apparmor: true, selinux: false };
        let mut spec = Spec::default();
        set_lsm(&mut spec, &ctx(|c| c.apparmor = localhost("localhost/k8s-nginx")), with).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().apparmor_profile().as_deref(), Some("k8s-nginx"));
        let mut spec = Spec::default();
        let default = Some(SecurityProfile { profile_type: ProfileType::RuntimeDefault as i32, localhost_ref: String::new() });
        set_lsm(&mut spec, &ctx(|c| c.apparmor = default.clone()), NodeLsm::default()).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().apparmor_profile(), &None, "RuntimeDefault without AppArmor: nothing");
        let err = set_lsm(&mut Spec::default(), &ctx(|c| c.apparmor = localhost("p")), NodeLsm::default()).unwrap_err();
        assert!(err.to_string().contains("apparmor") && err.to_string().contains("not enabled"), "{err}");
        #[allow(deprecated)]
        let legacy = ctx(|c| c.apparmor_profile = "localhost/old".into());
        let mut spec = Spec::default();
        set_lsm(&mut spec, &legacy, with).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().apparmor_profile().as_deref(), Some("old"));
    }

    #[test]
    fn selinux_labels_pass_through_only_with_selinux() {
        let options = Some(SeLinuxOption { user: "system_u".into(), role: "system_r".into(), r#type: "container_t".into(), level: "s0:c1,c2".into() });
        let mut spec = Spec::default();
        set_lsm(&mut spec, &ctx(|c| c.selinux_options = options.clone()), NodeLsm { apparmor: false, selinux: true }).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().selinux_label().as_deref(), Some("system_u:system_r:container_t:s0:c1,c2"));
        assert_eq!(spec.linux().as_ref().unwrap().mount_label().as_deref(), Some("system_u:system_r:container_t:s0:c1,c2"));
        let mut spec = Spec::default();
        set_lsm(&mut spec, &ctx(|c| c.selinux_options = options), NodeLsm::default()).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().selinux_label(), &None);
    }
}
