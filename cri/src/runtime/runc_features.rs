//! What the node's runc can do, asked once (`runc features`, runc ≥ 1.1).

use std::sync::OnceLock;

/// Whether runc applies the `rro` (recursive read-only) mount option.
pub fn recursive_read_only() -> bool {
    static RRO: OnceLock<bool> = OnceLock::new();
    *RRO.get_or_init(|| {
        let out = std::process::Command::new("runc").arg("features").output();
        out.ok()
            .filter(|o| o.status.success())
            .is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains("\"rro\""))
    })
}
