//! Linux security modules: AppArmor and SELinux, each applied only where the node has it.
//!
//! AppArmor: a Localhost profile (loaded on the node by its admin, as kubelet expects) is
//! named in the spec; RuntimeDefault names cricket's own profile (`crate::apparmor`), loaded
//! once on first use; Unconfined names none. On a node without AppArmor a Localhost profile is
//! refused rather than silently dropped, and RuntimeDefault means nothing. SELinux:
//! `selinux_options` become the process and mount labels on a node with SELinux; without it
//! they are ignored (as containerd does).

use crate::api::v1::security_profile::ProfileType;
use crate::api::v1::{LinuxContainerSecurityContext, SeLinuxOption};
use oci_spec::runtime::Spec;

use super::SpecError;

/// Which LSMs the node runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeLsm {
    pub apparmor: bool,
    pub selinux: bool,
    /// The loaded profile RuntimeDefault names (AppArmor nodes only).
    pub apparmor_default: Option<&'static str>,
}

impl NodeLsm {
    /// Asks the kernel.
    pub fn detect() -> NodeLsm {
        let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|v| v.trim() == "Y");
        NodeLsm {
            apparmor,
            selinux: std::path::Path::new("/sys/fs/selinux/enforce").exists(),
            apparmor_default: None,
        }
    }
}

const F: &str = "config.linux.security_context";

/// What the container asks of AppArmor.
#[derive(Debug, PartialEq)]
enum AppArmor {
    Unconfined,
    RuntimeDefault,
    Localhost(String),
}

/// The typed field first, then the deprecated string (`localhost/<name>`, `runtime/default`,
/// `unconfined`); nothing asked is RuntimeDefault, as for containerd.
fn apparmor_request(sc: &LinuxContainerSecurityContext) -> Result<AppArmor, SpecError> {
    if let Some(p) = &sc.apparmor {
        return match ProfileType::try_from(p.profile_type) {
            Ok(ProfileType::Localhost) if p.localhost_ref.is_empty() => {
                Err(SpecError::invalid(&format!("{F}.apparmor.localhost_ref"), "empty"))
            }
            Ok(ProfileType::Localhost) => Ok(AppArmor::Localhost(
                p.localhost_ref.trim_start_matches("localhost/").to_string(),
            )),
            Ok(ProfileType::Unconfined) => Ok(AppArmor::Unconfined),
            Ok(ProfileType::RuntimeDefault) => Ok(AppArmor::RuntimeDefault),
            Err(_) => Err(SpecError::invalid(
                &format!("{F}.apparmor.profile_type"),
                format!("unknown type {}", p.profile_type),
            )),
        };
    }
    #[allow(deprecated)]
    let legacy = sc.apparmor_profile.as_str();
    Ok(match legacy.strip_prefix("localhost/") {
        Some(name) => AppArmor::Localhost(name.to_string()),
        None if legacy == "unconfined" => AppArmor::Unconfined,
        None => AppArmor::RuntimeDefault,
    })
}

/// The profile to name in the spec, if any.
fn apparmor_profile(
    sc: &LinuxContainerSecurityContext,
    node: NodeLsm,
) -> Result<Option<String>, SpecError> {
    match apparmor_request(sc)? {
        AppArmor::Localhost(name) if !node.apparmor => Err(SpecError::invalid(
            &format!("{F}.apparmor"),
            format!("profile {name:?}: AppArmor is not enabled on this node"),
        )),
        AppArmor::Localhost(name) => Ok(Some(name)),
        AppArmor::RuntimeDefault => {
            Ok(node.apparmor_default.filter(|_| node.apparmor).map(String::from))
        }
        AppArmor::Unconfined => Ok(None),
    }
}

fn selinux_label(o: &SeLinuxOption) -> Option<String> {
    let parts = [&o.user, &o.role, &o.r#type, &o.level];
    parts
        .iter()
        .any(|p| !p.is_empty())
        .then(|| parts.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(":"))
}

pub fn set_lsm(
    spec: &mut Spec,
    sc: &LinuxContainerSecurityContext,
    node: NodeLsm,
) -> Result<(), SpecError> {
    if !sc.privileged {
        if let Some(profile) = apparmor_profile(sc, node)? {
            super::process_of(spec).set_apparmor_profile(Some(profile));
        }
    }
    if let Some(label) =
        sc.selinux_options.as_ref().and_then(selinux_label).filter(|_| node.selinux)
    {
        super::process_of(spec).set_selinux_label(Some(label.clone()));
        spec.linux_mut().as_mut().expect("linux").set_mount_label(Some(label));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::api::v1::SecurityProfile;

    use super::*;

    fn ctx(f: impl FnOnce(&mut LinuxContainerSecurityContext)) -> LinuxContainerSecurityContext {
        let mut c = LinuxContainerSecurityContext::default();
        f(&mut c);
        c
    }

    fn localhost(name: &str) -> Option<SecurityProfile> {
        Some(SecurityProfile {
            profile_type: ProfileType::Localhost as i32,
            localhost_ref: name.into(),
        })
    }

    #[test]
    fn apparmor_names_a_localhost_profile_where_the_node_has_apparmor() {
        let with =
            NodeLsm { apparmor: true, selinux: false, apparmor_default: Some("cricket-default") };
        let mut spec = Spec::default();
        set_lsm(&mut spec, &ctx(|c| c.apparmor = localhost("localhost/k8s-nginx")), with).unwrap();
        assert_eq!(
            spec.process().as_ref().unwrap().apparmor_profile().as_deref(),
            Some("k8s-nginx")
        );
        let default = Some(SecurityProfile {
            profile_type: ProfileType::RuntimeDefault as i32,
            localhost_ref: String::new(),
        });
        let named = |sc: &LinuxContainerSecurityContext, node: NodeLsm| {
            let mut spec = Spec::default();
            set_lsm(&mut spec, sc, node).unwrap();
            spec.process().as_ref().unwrap().apparmor_profile().clone()
        };
        assert_eq!(
            named(&ctx(|c| c.apparmor = default.clone()), NodeLsm::default()),
            None,
            "RuntimeDefault without AppArmor: nothing"
        );
        assert_eq!(
            named(&ctx(|c| c.apparmor = default.clone()), with).as_deref(),
            Some("cricket-default")
        );
        assert_eq!(
            named(&ctx(|_| {}), with).as_deref(),
            Some("cricket-default"),
            "nothing asked is RuntimeDefault"
        );
        let unconfined = Some(SecurityProfile {
            profile_type: ProfileType::Unconfined as i32,
            localhost_ref: String::new(),
        });
        assert_eq!(named(&ctx(|c| c.apparmor = unconfined), with), None);
        assert_eq!(
            named(
                &ctx(|c| {
                    c.apparmor = default;
                    c.privileged = true
                }),
                with
            ),
            None,
            "privileged: none"
        );
        let err = set_lsm(
            &mut Spec::default(),
            &ctx(|c| c.apparmor = localhost("p")),
            NodeLsm::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("apparmor") && err.to_string().contains("not enabled"),
            "{err}"
        );
        #[allow(deprecated)]
        let legacy = ctx(|c| c.apparmor_profile = "localhost/old".into());
        let mut spec = Spec::default();
        set_lsm(&mut spec, &legacy, with).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().apparmor_profile().as_deref(), Some("old"));
    }

    #[test]
    fn selinux_labels_pass_through_only_with_selinux() {
        let options = Some(SeLinuxOption {
            user: "system_u".into(),
            role: "system_r".into(),
            r#type: "container_t".into(),
            level: "s0:c1,c2".into(),
        });
        let mut spec = Spec::default();
        set_lsm(
            &mut spec,
            &ctx(|c| c.selinux_options = options.clone()),
            NodeLsm { apparmor: false, selinux: true, apparmor_default: None },
        )
        .unwrap();
        assert_eq!(
            spec.process().as_ref().unwrap().selinux_label().as_deref(),
            Some("system_u:system_r:container_t:s0:c1,c2")
        );
        assert_eq!(
            spec.linux().as_ref().unwrap().mount_label().as_deref(),
            Some("system_u:system_r:container_t:s0:c1,c2")
        );
        let mut spec = Spec::default();
        set_lsm(&mut spec, &ctx(|c| c.selinux_options = options), NodeLsm::default()).unwrap();
        assert_eq!(spec.process().as_ref().unwrap().selinux_label(), &None);
    }
}
