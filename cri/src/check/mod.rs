//! `cricket check`: a preflight of what cricket needs on this node, each requirement printed
//! as ok or FAIL with the fix, exit 0 when all pass and 1 otherwise.

mod cni;
mod containerd;
mod host;
mod socket;

use std::fmt::Write as _;

use crate::config::Config;

/// One requirement's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub what: String,
    /// What was found (ok) or what is wrong (FAIL).
    pub detail: String,
    /// How to fix it; `None` when it passed.
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding { what: what.into(), detail: detail.into(), fix: None }
    }

    pub fn fail(
        what: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding { what: what.into(), detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn passed(&self) -> bool {
        self.fix.is_none()
    }
}

/// Runs every check against `config`.
pub async fn run(config: &Config) -> Vec<Finding> {
    let mut findings = vec![containerd::reachable(config).await];
    findings.extend(containerd::handlers(config));
    findings.push(containerd::user_namespaces(config).await);
    findings.extend(cni::network(&config.cni.conf_dir, &config.cni.bin_dirs));
    findings.push(host::snapshotter(
        &config.containerd.snapshotter,
        &std::fs::read_to_string("/proc/filesystems").unwrap_or_default(),
    ));
    findings.push(host::cgroups(
        config,
        std::path::Path::new("/sys/fs/cgroup"),
        std::path::Path::new("/run/systemd/system"),
    ));
    findings.push(host::ip_forward(
        &std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default(),
    ));
    findings.push(host::iptables(&host::search_path()));
    for (key, dir) in [("root_dir", &config.root_dir), ("state_dir", &config.state_dir)] {
        findings.push(host::writable(key, dir));
    }
    findings.push(socket::listen(&config.listen).await);
    findings
}

/// The report, one line per requirement and an indented fix under each failure.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ =
            writeln!(out, "{:<5} {}: {}", if f.passed() { "ok" } else { "FAIL" }, f.what, f.detail);
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "      fix: {fix}");
        }
    }
    let failed = findings.iter().filter(|f| !f.passed()).count();
    let _ = writeln!(
        out,
        "{}",
        if failed == 0 {
            "all requirements met".to_string()
        } else {
            format!("{failed} requirement(s) not met")
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_each_failure_and_its_fix() {
        let text = render(&[
            Finding::ok("iptables", "/usr/sbin/iptables"),
            Finding::fail("ip_forward", "off", "sysctl -w net.ipv4.ip_forward=1"),
        ]);
        assert_eq!(text, "ok    iptables: /usr/sbin/iptables\nFAIL  ip_forward: off\n      fix: sysctl -w net.ipv4.ip_forward=1\n1 requirement(s) not met\n");
    }
}
