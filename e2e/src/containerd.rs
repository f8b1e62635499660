//! A private containerd (CRI plugin disabled) for one test.

use std::path::PathBuf;
use std::time::Duration;

use crate::process::{run, wait_for_socket, Daemon};
use crate::workspace::Workspace;

pub struct Containerd {
    pub address: PathBuf,
    pub config: PathBuf,
    log: PathBuf,
    /// The network namespace it (and so every shim and host-network pod) runs in.
    netns: Option<String>,
    daemon: Option<Daemon>,
}

/// The top of a private containerd's config: its own root and state (top-level keys, so they
/// come before any table).
pub fn base_config(root: &std::path::Path, state: &std::path::Path) -> String {
    format!("version = 2\nroot = \"{}\"\nstate = \"{}\"\n", root.display(), state.display())
}

/// Its sockets: gRPC at `address`, ttrpc beside it, no debug or metrics listener.
pub fn listeners(address: &std::path::Path) -> String {
    let a = address.display();
    format!("[grpc]\n  address = \"{a}\"\n[ttrpc]\n  address = \"{a}.ttrpc\"\n[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n")
}

impl Containerd {
    pub fn start(ws: &Workspace) -> Containerd {
        Containerd::start_in(ws, None)
    }

    /// Starts containerd inside the network namespace `netns` (if any).
    pub fn start_in(ws: &Workspace, netns: Option<&str>) -> Containerd {
        let address = ws.run("containerd.sock");
        let config = ws.run("containerd.toml");
        let toml = format!(
            "{}disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n{}",
            base_config(&ws.lib("containerd"), &ws.run("containerd-state")),
            listeners(&address)
        );
        std::fs::write(&config, toml).expect("write containerd config");
        let mut c = Containerd {
            address,
            config,
            log: ws.run("containerd.log"),
            netns: netns.map(str::to_string),
            daemon: None,
        };
        c.start_again();
        c
    }

    /// (Re)starts containerd with the same config and state.
    pub fn start_again(&mut self) {
        let mut cmd = crate::registry::in_netns(self.netns.as_deref(), "containerd");
        cmd.arg("--config").arg(&self.config);
        self.daemon = Some(Daemon::spawn("containerd", cmd, &self.log));
        assert!(
            wait_for_socket(&self.address, Duration::from_secs(20)),
            "containerd did not come up; see {}",
            self.log.display()
        );
    }

    /// Stops containerd (its shims and containers keep running, as on a real node).
    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop(Duration::from_secs(10));
        }
    }

    /// SIGKILLs containerd, as a crash or an upgrade would; shims and containers live on.
    /// The daemon's PID (0 when it is not running).
    pub fn pid(&self) -> i32 {
        self.daemon.as_ref().map(Daemon::pid).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.signal(libc::SIGKILL);
            d.wait_exit(Duration::from_secs(10));
        }
    }

    /// Runs `ctr` against this containerd in `namespace`.
    pub fn ctr(&self, namespace: &str, args: &[&str]) -> (bool, String, String) {
        let mut cmd = crate::backend::command("ctr");
        cmd.arg("--address").arg(&self.address).args(["--namespace", namespace]).args(args);
        run(&mut cmd)
    }
}

impl Containerd {
    /// Runs `ctr` and fails the test if it fails.
    pub fn ctr_ok(&self, namespace: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.ctr(namespace, args);
        assert!(ok, "ctr {args:?}: {err}");
        out
    }

    fn ctr_lines(&self, namespace: &str, args: &[&str]) -> Vec<String> {
        self.ctr_ok(namespace, args)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Image record names in `namespace`.
    pub fn image_names(&self, namespace: &str) -> Vec<String> {
        self.ctr_lines(namespace, &["images", "ls", "-q"])
    }

    /// Blob digests in the content store of `namespace`.
    pub fn content_digests(&self, namespace: &str) -> Vec<String> {
        self.ctr_lines(namespace, &["content", "ls", "-q"])
    }

    /// Lease IDs in `namespace`.
    pub fn lease_ids(&self, namespace: &str) -> Vec<String> {
        self.ctr_lines(namespace, &["leases", "ls", "-q"])
    }

    /// Committed snapshot keys of the overlayfs snapshotter in `namespace`.
    pub fn snapshot_keys(&self, namespace: &str) -> Vec<String> {
        let (_, out, _) = self.ctr(namespace, &["snapshots", "ls"]);
        out.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }
}
