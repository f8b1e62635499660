//! containerd with its own CRI plugin on, on private paths: the runtime cricket is measured
//! against (the backend's containerd: Debian's 1.6, or the built 2.x). Its sandbox image is
//! the pause image in the node's registry, its CNI config a conflist of its own (another bridge
//! and subnet), and `restrict_oom_score_adj` is on, as this machine's root cannot lower OOM
//! scores.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{wait_for_socket, Daemon};
use crate::workspace::Workspace;

pub struct ContainerdCri {
    /// containerd's gRPC socket, which serves the CRI too.
    pub address: PathBuf,
    /// The bridge its CNI config names (deleted on drop).
    pub bridge: String,
    /// Its registry hosts directory (`config_path`): a directory per host, read at each pull.
    pub hosts_dir: PathBuf,
    netns: Option<String>,
    daemon: Option<Daemon>,
}

impl ContainerdCri {
    /// Starts it; `sandbox_image` must be in `registry` (host:port, plain HTTP).
    pub fn start(
        ws: &Workspace,
        registry: &str,
        sandbox_image: &str,
        subnet: &str,
    ) -> ContainerdCri {
        ContainerdCri::start_in(ws, registry, sandbox_image, subnet, None)
    }

    /// Starts it inside the network namespace `netns` (if any), where its pods' bridge goes.
    pub fn start_in(
        ws: &Workspace,
        registry: &str,
        sandbox_image: &str,
        subnet: &str,
        netns: Option<&str>,
    ) -> ContainerdCri {
        ContainerdCri::start_mirroring(ws, registry, sandbox_image, subnet, netns, &[])
    }

    /// Starts it with `registry` also serving each of `mirrored` (a host, or `_default`: every
    /// host without a directory of its own, on containerd 2.x).
    pub fn start_mirroring(
        ws: &Workspace,
        registry: &str,
        sandbox_image: &str,
        subnet: &str,
        netns: Option<&str>,
        mirrored: &[&str],
    ) -> ContainerdCri {
        let address = ws.run("ctd-cri.sock");
        let bridge = format!("cc{}", ws.id);
        let conf_dir = ws.run("ctd-cri-net.d");
        crate::node::write_conflist(
            &conf_dir,
            &format!("ctd-{}", ws.id),
            &bridge,
            subnet,
            &ws.run("ctd-cri-ipam"),
        );
        let config = ws.run("ctd-cri.toml");
        let hosts_dir = ws.run("ctd-cri-hosts");
        write_registry_hosts(&hosts_dir, registry, mirrored);
        std::fs::write(&config, config_toml(ws, &address, sandbox_image, &conf_dir, &hosts_dir))
            .expect("write containerd config");
        let mut cmd = crate::registry::in_netns(netns, "containerd");
        cmd.arg("--config").arg(&config);
        let daemon = Daemon::spawn("containerd", cmd, &ws.run("ctd-cri.log"));
        assert!(
            wait_for_socket(&address, Duration::from_secs(20)),
            "containerd (CRI) did not come up; see {}",
            ws.run("ctd-cri.log").display()
        );
        ContainerdCri {
            address,
            bridge,
            hosts_dir,
            netns: netns.map(str::to_string),
            daemon: Some(daemon),
        }
    }

    pub fn pid(&self) -> i32 {
        self.daemon.as_ref().map(Daemon::pid).unwrap_or_default()
    }
}

impl Drop for ContainerdCri {
    fn drop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop(Duration::from_secs(10));
        }
        let mut del = crate::registry::in_netns(self.netns.as_deref(), "ip");
        let _ = del.args(["link", "del", &self.bridge]).output();
    }
}

fn config_toml(
    ws: &Workspace,
    address: &Path,
    sandbox_image: &str,
    conf_dir: &Path,
    hosts_dir: &Path,
) -> String {
    let base = crate::containerd::base_config(&ws.lib("ctd-cri"), &ws.run("ctd-cri-state"));
    let listeners = crate::containerd::listeners(address);
    format!(
        r#"{base}{listeners}[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{conf_dir}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{hosts_dir}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{test_handler}]
    runtime_type = "io.containerd.runc.v2"
"#,
        test_handler = crate::node_conformance::TEST_HANDLER,
        conf_dir = conf_dir.display(),
        hosts_dir = hosts_dir.display(),
    )
}

/// The registry hosts directory (`config_path`, read by 1.6 and 2.x alike, where 2.x has
/// dropped `mirrors`): each host in `hosts` is served by the plain-HTTP `registry`.
pub fn write_registry_hosts(dir: &Path, registry: &str, hosts: &[&str]) {
    for host in std::iter::once(registry).chain(hosts.iter().copied()) {
        let toml = format!("server = \"http://{registry}\"\n[host.\"http://{registry}\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
        write_hosts_toml(dir, host, &toml);
    }
}

/// Makes `host` (a registry on the node's loopback) a plain-HTTP registry of its own, outside
/// any `_default` mirror.
pub fn write_plain_host(dir: &Path, host: &str) {
    write_hosts_toml(dir, host, &format!("server = \"http://{host}\"\n"));
}

fn write_hosts_toml(dir: &Path, host: &str, toml: &str) {
    let host_dir = dir.join(host);
    std::fs::create_dir_all(&host_dir).expect("create the registry hosts directory");
    std::fs::write(host_dir.join("hosts.toml"), toml).expect("write hosts.toml");
}
