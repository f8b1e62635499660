//! Debian's containerd with its own CRI plugin on, on private paths: the runtime cricket is
//! measured against. Its sandbox image is the pause image in the node's registry, its CNI
//! config a conflist of its own (another bridge and subnet), and `restrict_oom_score_adj` is
//! on, as this machine's root cannot lower OOM scores.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{wait_for_socket, Daemon};
use crate::workspace::Workspace;

pub struct ContainerdCri {
    /// containerd's gRPC socket, which serves the CRI too.
    pub address: PathBuf,
    /// The bridge its CNI config names (deleted on drop).
    pub bridge: String,
    netns: Option<String>,
    daemon: Option<Daemon>,
}

impl ContainerdCri {
    /// Starts it; `sandbox_image` must be in `registry` (host:port, plain HTTP).
    pub fn start(ws: &Workspace, registry: &str, sandbox_image: &str, subnet: &str) -> ContainerdCri {
        ContainerdCri::start_in(ws, registry, sandbox_image, subnet, None)
    }

    /// Starts it inside the network namespace `netns` (if any), where its pods' bridge goes.
    pub fn start_in(ws: &Workspace, registry: &str, sandbox_image: &str, subnet: &str, netns: Option<&str>) -> ContainerdCri {
        let address = ws.run("ctd-cri.sock");
        let bridge = format!("cc{}", ws.id);
        let conf_dir = ws.run("ctd-cri-net.d");
        crate::node::write_conflist(&conf_dir, &format!("ctd-{}", ws.id), &bridge, subnet, &ws.run("ctd-cri-ipam"));
        let config = ws.run("ctd-cri.toml");
        std::fs::write(&config, config_toml(ws, &address, registry, sandbox_image, &conf_dir)).expect("write containerd config");
        let mut cmd = crate::registry::in_netns(netns, "containerd");
        cmd.arg("--config").arg(&config);
        let daemon = Daemon::spawn("containerd", cmd, &ws.run("ctd-cri.log"));
        assert!(wait_for_socket(&address, Duration::from_secs(20)), "containerd (CRI) did not come up; see {}", ws.run("ctd-cri.log").display());
        ContainerdCri { address, bridge, netns: netns.map(str::to_string), daemon: Some(daemon) }
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

fn config_toml(ws: &Workspace, address: &Path, registry: &str, sandbox_image: &str, conf_dir: &Path) -> String {
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
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."{registry}"]
    endpoint = ["http://{registry}"]
"#,
        conf_dir = conf_dir.display(),
    )
}
