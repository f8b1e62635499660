//! A cricket daemon under test, with its config on private paths.

use std::path::PathBuf;
use std::process::ExitStatus;

use std::time::Duration;

use crate::cri_client::CriClient;
use crate::process::{wait_for_socket, Daemon};
use crate::workspace::{cricket_binary, Workspace};

pub struct Cricket {
    pub socket: PathBuf,
    pub config_file: PathBuf,
    pub log: PathBuf,
    netns: Option<String>,
    daemon: Option<Daemon>,
}

/// The config a test node runs with; `extra` is appended verbatim (more TOML tables).
pub fn write_config(ws: &Workspace, containerd_address: &std::path::Path, extra: &str) -> PathBuf {
    let file = ws.run("cricket.toml");
    let text = format!(
        r#"listen = "{listen}"
root_dir = "{root}"
state_dir = "{state}"
log_level = "debug"

[containerd]
address = "{containerd}"
namespace = "k8s.io"

[cni]
conf_dir = "{net}"
bin_dirs = ["/usr/lib/cni", "{bin}"]
{extra}
"#,
        listen = ws.run("cricket.sock").display(),
        root = ws.lib("cricket").display(),
        state = ws.run("cricket").display(),
        containerd = containerd_address.display(),
        net = ws.run("net.d").display(),
        bin = ws.run("cni-bin").display(),
    );
    std::fs::write(&file, text).expect("write cricket config");
    file
}

impl Cricket {
    /// Starts cricket and waits for its socket.
    pub fn start(ws: &Workspace, config_file: PathBuf) -> Cricket {
        Cricket::start_in(ws, config_file, None)
    }

    /// Starts cricket inside the network namespace `netns` (if any).
    pub fn start_in(ws: &Workspace, config_file: PathBuf, netns: Option<&str>) -> Cricket {
        let mut c = Cricket {
            socket: ws.run("cricket.sock"),
            config_file,
            log: ws.run("cricket.log"),
            netns: netns.map(str::to_string),
            daemon: None,
        };
        c.start_again();
        c
    }

    pub fn start_again(&mut self) {
        let mut cmd = crate::registry::in_netns(self.netns.as_deref(), cricket_binary());
        cmd.arg("serve").arg("--config").arg(&self.config_file);
        self.daemon = Some(Daemon::spawn("cricket", cmd, &self.log));
        assert!(
            wait_for_socket(&self.socket, Duration::from_secs(10)),
            "cricket did not serve; log:\n{}",
            self.log_text()
        );
    }

    pub fn pid(&self) -> i32 {
        self.daemon.as_ref().map_or(0, Daemon::pid)
    }

    pub fn is_running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::is_running)
    }

    /// Sends `signal` and waits for the exit.
    pub fn signal_and_wait(&mut self, signal: i32, limit: Duration) -> Option<ExitStatus> {
        let d = self.daemon.as_mut()?;
        d.signal(signal);
        let status = d.wait_exit(limit);
        if status.is_some() {
            self.daemon = None;
        }
        status
    }

    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop(Duration::from_secs(15));
        }
    }

    pub async fn client(&self) -> CriClient {
        CriClient::connect(&self.socket).await.expect("connect to cricket")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Runs `cricket` with `args` to completion: (exit code, stdout, stderr).
pub fn run_cricket(args: &[&str]) -> (Option<i32>, String, String) {
    let out = crate::backend::command(cricket_binary()).args(args).output().expect("run cricket");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
