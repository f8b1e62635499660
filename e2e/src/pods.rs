//! Pieces of pod configs as kubelet sends them.

use cricket::api::v1::{
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption,
    PodSandboxConfig, PodSandboxMetadata,
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

/// A pod `name` in `namespace` as kubelet asks for it, its logs under `log_root/name`.
pub fn kubelet_pod(name: &str, namespace: &str, log_root: &std::path::Path) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: namespace.into(),
            attempt: 0,
        }),
        hostname: name.into(),
        log_directory: log_root.join(name).display().to_string(),
        linux: kubelet_linux(),
        ..Default::default()
    }
}
