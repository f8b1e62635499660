//! The Kubernetes binaries build from the pinned module and are the release it pins.

use std::process::Command;

use e2e::kube::{binary, pinned_version, PROGRAMS};

#[test]
fn every_kubernetes_binary_builds_at_the_pinned_release() {
    let version = pinned_version();
    assert!(version.starts_with("v1.37."), "{version}");
    for program in PROGRAMS {
        let path = binary(program);
        let args: &[&str] =
            if program == "kubectl" { &["version", "--client"] } else { &["--version"] };
        let out = Command::new(&path)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&version),
            "{program} {args:?}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
