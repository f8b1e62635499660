//! What the node's runc can do, asked once at start (`runc features`, runc ≥ 1.1).

use std::sync::OnceLock;

static RRO: OnceLock<bool> = OnceLock::new();

/// Runs `runc features` once and remembers the answer. It waits for a process, so the daemon
/// starts it on a blocking thread at start-up, without waiting for it.
pub fn probe() -> bool {
    *RRO.get_or_init(|| {
        let out = std::process::Command::new("runc").arg("features").output();
        out.ok()
            .filter(|o| o.status.success())
            .is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains("\"rro\""))
    })
}

/// Whether runc applies the `rro` (recursive read-only) mount option. A call in the first
/// milliseconds, before the start-up probe has answered, waits for it off the async workers.
pub fn recursive_read_only() -> bool {
    match RRO.get() {
        Some(rro) => *rro,
        None => crate::sys::blocking::run(probe),
    }
}
