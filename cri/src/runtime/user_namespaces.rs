//! Whether this node can give a pod its own user namespace, and if not, what is missing:
//! containerd 2.0 or later, a snapshotter that makes idmapped mounts of image layers, and a
//! runc that makes idmapped mounts (1.2 or later). Asked once, when first needed.

use std::time::Duration;

use tokio::sync::OnceCell;

use crate::context::Context;

/// The node's answer, kept once containerd has given one.
#[derive(Default)]
pub struct UserNamespaceSupport {
    answer: OnceCell<Result<(), String>>,
}

/// What is missing, from what the parts said.
pub fn missing(
    containerd: &str,
    capabilities: &[String],
    snapshotter: &str,
    runc_idmap: bool,
) -> Option<String> {
    let version = containerd_bridge::ContainerdVersion::parse(containerd);
    if version.is_none_or(|v| v.major < 2) {
        return Some(format!("containerd {containerd} cannot make them (2.0 or later can)"));
    }
    if !capabilities.iter().any(|c| c == "remap-ids") {
        return Some(format!(
            "containerd's snapshotter {snapshotter:?} cannot make idmapped mounts on this kernel"
        ));
    }
    if !runc_idmap {
        return Some("runc cannot make idmapped mounts (1.2 or later can)".into());
    }
    None
}

/// How long the first question may take in all.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// Asks containerd and runc; `Err` when containerd does not answer, else what is missing
/// (`Err` inside) or nothing.
pub async fn probe(
    containerd: &containerd_bridge::Containerd,
    snapshotter: &str,
) -> Result<Result<(), String>, String> {
    let limit = Duration::from_secs(3);
    let version = containerd.version(limit).await.map_err(|e| e.to_string())?;
    let capabilities = containerd.snapshotter_capabilities().await.map_err(|e| e.to_string())?;
    let runc = crate::sys::blocking::off_workers(super::runc_features::features).await;
    Ok(match missing(&version, &capabilities, snapshotter, runc.idmapped_mounts) {
        Some(reason) => Err(reason),
        None => Ok(()),
    })
}

impl UserNamespaceSupport {
    /// `Ok` where pods may have their own user namespace, else why not. An unreachable
    /// containerd is not an answer: it is asked again next time.
    pub async fn check(&self, ctx: &Context) -> Result<(), String> {
        let snapshotter = &ctx.config.containerd.snapshotter;
        // Status waits for this: a containerd that hangs must not hang it.
        let asked = || async {
            tokio::time::timeout(PROBE_LIMIT, probe(&ctx.containerd, snapshotter))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {PROBE_LIMIT:?}")))
        };
        match self.answer.get_or_try_init(asked).await {
            Ok(answer) => answer.clone().map_err(|reason| {
                format!("user namespaces are not supported on this node: {reason}")
            }),
            Err(e) => Err(format!("user namespaces: containerd did not answer: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_part_that_is_missing() {
        let remap = vec!["rebase".to_string(), "remap-ids".to_string()];
        assert_eq!(missing("v2.2.0", &remap, "overlayfs", true), None);
        assert!(missing("1.6.20~ds1", &remap, "overlayfs", true)
            .unwrap()
            .contains("containerd 1.6.20"));
        assert!(missing("v2.2.0", &[], "overlayfs", true).unwrap().contains("\"overlayfs\""));
        assert!(missing("v2.2.0", &remap, "overlayfs", false).unwrap().contains("runc"));
    }
}
