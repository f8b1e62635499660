//! Pieces of pod configs as kubelet sends them.

use cricket::api::v1::{
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption,
};

/// The namespace options kubelet sends for a pod without `shareProcessNamespace`.
pub fn own_pid_namespaces() -> Option<LinuxSandboxSecurityContext> {
    Some(LinuxSandboxSecurityContext {
        namespace_options: Some(NamespaceOption {
            pid: NamespaceMode::Container as i32,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `linux` of such a pod.
pub fn kubelet_linux() -> Option<LinuxPodSandboxConfig> {
    Some(LinuxPodSandboxConfig { security_context: own_pid_namespaces(), ..Default::default() })
}
