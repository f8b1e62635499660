//! The Kubernetes binaries the e2e tests run, built from the module at `e2e/kube`
//! (k8s.io/kubernetes at a pinned release, its staging modules at the matching releases).

use std::path::PathBuf;

use crate::go_build::{build_in_module, ModuleTarget};

/// The programs built from the module.
pub const PROGRAMS: [&str; 5] =
    ["kubelet", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"];

/// `program` (one of [`PROGRAMS`]), built once per version of the module. The release
/// build stamps its version into every binary; a module build must do the same, or kubelet
/// reports itself as v0.0.0.
pub fn binary(program: &str) -> PathBuf {
    assert!(PROGRAMS.contains(&program), "{program} is not one of {PROGRAMS:?}");
    let module = module_dir();
    let version = pinned_version();
    let (major, minor) = version
        .trim_start_matches('v')
        .split_once('.')
        .map(|(a, rest)| (a.to_string(), rest.split('.').next().unwrap_or_default().to_string()))
        .unwrap_or_default();
    let stamp = |var: &str, value: &str| format!("k8s.io/component-base/version.{var}={value}");
    let x_flags = [
        stamp("gitVersion", &version),
        stamp("gitMajor", &major),
        stamp("gitMinor", &minor),
        stamp("gitTreeState", "clean"),
    ];
    build_in_module(
        &module,
        ModuleTarget::Program(&format!("k8s.io/kubernetes/cmd/{program}")),
        program,
        &[],
        &x_flags,
    )
}

/// The Go module at `e2e/kube` that pins the Kubernetes release (and builds its test programs).
pub fn module_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kube")
}

/// The release `e2e/kube/go.mod` pins, e.g. "v1.37.2".
pub fn pinned_version() -> String {
    crate::go_build::required_version(&module_dir(), "k8s.io/kubernetes")
}

/// etcd for the test clusters' API servers, built from the module at `e2e/etcd` (the etcd
/// server release that module pins).
pub fn etcd_binary() -> PathBuf {
    let module = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("etcd");
    build_in_module(&module, ModuleTarget::Program("go.etcd.io/etcd/server/v3"), "etcd", &[], &[])
}
