//! The files a pod's containers see as /etc/hostname, /etc/resolv.conf and /etc/hosts,
//! written under `root_dir/sandboxes/<id>/`.

use std::path::Path;

use crate::api::v1::{DnsConfig, PodSandboxConfig};

use crate::spec::EtcFiles;

/// Where the files of sandbox dir `dir` go.
pub fn paths(dir: &Path) -> EtcFiles {
    EtcFiles {
        hostname: dir.join("hostname"),
        resolv_conf: dir.join("resolv.conf"),
        hosts: dir.join("hosts"),
    }
}

/// resolv.conf from the pod's DNS config; `None` when it asks for nothing (the host's is used).
pub fn resolv_conf(dns: Option<&DnsConfig>) -> Option<String> {
    let dns =
        dns.filter(|d| !(d.servers.is_empty() && d.searches.is_empty() && d.options.is_empty()))?;
    let mut out = String::new();
    for server in &dns.servers {
        out.push_str(&format!("nameserver {server}\n"));
    }
    if !dns.searches.is_empty() {
        out.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    Some(out)
}

fn node_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Writes the three files; with host networking the hostname is the node's.
pub fn write(
    files: &EtcFiles,
    config: &PodSandboxConfig,
    host_network: bool,
) -> std::io::Result<()> {
    if let Some(dir) = files.hostname.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let hostname = if host_network || config.hostname.is_empty() {
        node_hostname()
    } else {
        config.hostname.clone()
    };
    std::fs::write(&files.hostname, format!("{hostname}\n"))?;
    match resolv_conf(config.dns_config.as_ref()) {
        Some(text) => std::fs::write(&files.resolv_conf, text)?,
        None => std::fs::write(
            &files.resolv_conf,
            std::fs::read("/etc/resolv.conf").unwrap_or_default(),
        )?,
    }
    std::fs::write(
        &files.hosts,
        std::fs::read("/etc/hosts")
            .unwrap_or_else(|_| b"127.0.0.1\tlocalhost\n::1\tlocalhost\n".to_vec()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_config_becomes_resolv_conf_and_empty_means_the_hosts() {
        let dns = DnsConfig {
            servers: vec!["10.96.0.10".into()],
            searches: vec!["ns.svc.cluster.local".into(), "svc.cluster.local".into()],
            options: vec!["ndots:5".into()],
        };
        assert_eq!(
            resolv_conf(Some(&dns)).unwrap(),
            "nameserver 10.96.0.10\nsearch ns.svc.cluster.local svc.cluster.local\noptions ndots:5\n"
        );
        assert_eq!(resolv_conf(Some(&DnsConfig::default())), None);
        assert_eq!(resolv_conf(None), None);
    }

    #[test]
    fn files_are_written_with_the_pods_hostname() {
        let tmp = tempfile::tempdir().unwrap();
        let files = paths(&tmp.path().join("sb"));
        let config = PodSandboxConfig { hostname: "web-0".into(), ..Default::default() };
        write(&files, &config, false).unwrap();
        assert_eq!(std::fs::read_to_string(&files.hostname).unwrap(), "web-0\n");
        assert!(files.resolv_conf.exists() && files.hosts.exists());
    }
}
