//! cricket's default AppArmor profile, which RuntimeDefault containers run under on nodes with
//! AppArmor: loaded once, on first use, with `apparmor_parser`. Where it cannot be loaded the
//! containers run without a profile, and the reason is logged.
//!
//! The profile confines what a container may do to the node beyond its namespaces: no mounts,
//! no writes to the kernel's knobs under /proc and /sys (the namespaced /proc/sys/kernel/shm*
//! and message queue limits excepted), nothing of /proc/kcore, /proc/sysrq-trigger, firmware
//! or the security file systems; ptrace and signals only among its own processes.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const DEFAULT_PROFILE: &str = "cricket-default";

/// The profile text.
pub fn default_profile_text() -> String {
    format!(
        r#"#include <tunables/global>

profile {DEFAULT_PROFILE} flags=(attach_disconnected,mediate_deleted) {{
  #include <abstractions/base>

  network,
  capability,
  file,
  umount,
  deny mount,

  signal (receive) peer=unconfined,
  signal (send,receive) peer={DEFAULT_PROFILE},
  ptrace (trace,read,tracedby,readby) peer={DEFAULT_PROFILE},

  deny @{{PROC}}/sysrq-trigger rwklx,
  deny @{{PROC}}/kcore rwklx,
  deny @{{PROC}}/sys/kernel/{{[^sm]*,s[^h]*,m[^s]*}} w,
  deny @{{PROC}}/sys/{{[^k]*,k[^e]*}}/** w,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,
  deny /sys/kernel/debug/** rwklx,
  deny /sys/{{[^f]*,f[^s]*}}/** wklx,
}}
"#
    )
}

fn loaded() -> bool {
    let profiles =
        std::fs::read_to_string("/sys/kernel/security/apparmor/profiles").unwrap_or_default();
    profiles.lines().any(|l| l.split_whitespace().next() == Some(DEFAULT_PROFILE))
}

fn load() -> Result<(), String> {
    let mut child = Command::new("apparmor_parser")
        .args(["-Kr"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run apparmor_parser: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(default_profile_text().as_bytes())
        .map_err(|e| format!("feed apparmor_parser: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("apparmor_parser: {e}"))?;
    if !out.status.success() {
        return Err(format!("apparmor_parser: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// The default profile's name once it is loaded; `None` if it cannot be (logged once).
pub fn default_profile() -> Option<&'static str> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    let ok = *LOADED.get_or_init(|| {
        if loaded() {
            return true;
        }
        match load() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the default AppArmor profile; RuntimeDefault containers run without one");
                false
            }
        }
    });
    ok.then_some(DEFAULT_PROFILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_named_and_balanced() {
        let text = default_profile_text();
        assert!(text.contains("profile cricket-default flags="));
        assert_eq!(text.matches('{').count(), text.matches('}').count());
        assert!(text.contains("deny mount,"));
    }
}
