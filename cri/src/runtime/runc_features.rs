//! What the node's runc can do, asked once at start (`runc features`, runc ≥ 1.1).

use std::sync::OnceLock;

/// The parts of `runc features` cricket uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuncFeatures {
    /// The `rro` (recursive read-only) mount option.
    pub recursive_read_only: bool,
    /// Idmapped mounts (runc ≥ 1.2), which a pod's own user namespace needs.
    pub idmapped_mounts: bool,
}

static FEATURES: OnceLock<RuncFeatures> = OnceLock::new();

/// `runc features`' JSON read into [`RuncFeatures`]; anything unreadable is "cannot".
pub fn parse(json: &[u8]) -> RuncFeatures {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else {
        return RuncFeatures::default();
    };
    let options = v["mountOptions"].as_array().cloned().unwrap_or_default();
    RuncFeatures {
        recursive_read_only: options.iter().any(|o| o == "rro"),
        idmapped_mounts: v["linux"]["mountExtensions"]["idmap"]["enabled"] == true,
    }
}

/// Runs `runc features` once and remembers the answer. It waits for a process, so the daemon
/// starts it on a blocking thread at start-up, without waiting for it.
pub fn probe() -> RuncFeatures {
    *FEATURES.get_or_init(|| {
        let out = std::process::Command::new("runc").arg("features").output();
        out.ok().filter(|o| o.status.success()).map(|o| parse(&o.stdout)).unwrap_or_default()
    })
}

/// The features; a call in the first milliseconds, before the start-up probe has answered,
/// waits for it off the async workers.
pub fn features() -> RuncFeatures {
    match FEATURES.get() {
        Some(f) => *f,
        None => crate::sys::blocking::run(probe),
    }
}

/// Whether runc applies the `rro` (recursive read-only) mount option.
pub fn recursive_read_only() -> bool {
    features().recursive_read_only
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rro_and_idmap_from_runc_features() {
        let new = br#"{"mountOptions":["ro","rro"],"linux":{"mountExtensions":{"idmap":{"enabled":true}}}}"#;
        assert_eq!(parse(new), RuncFeatures { recursive_read_only: true, idmapped_mounts: true });
        let old = br#"{"mountOptions":["ro"],"linux":{"namespaces":["user"]}}"#;
        assert_eq!(parse(old), RuncFeatures::default());
        assert_eq!(parse(b"not json"), RuncFeatures::default());
    }
}
