//! Debian's docker-registry (distribution 2.8) on 127.0.0.1 and a free port, for one test.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use containerd_bridge::oci_image::BuiltImage;

use crate::process::{run, Daemon};
use crate::test_images::write_oci_layout;
use crate::workspace::Workspace;

pub struct Registry {
    /// `127.0.0.1:<port>`
    pub host: String,
    pub log: PathBuf,
    scratch: PathBuf,
    _daemon: Daemon,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("find a free port").port()
}

impl Registry {
    pub fn start(ws: &Workspace) -> Registry {
        let host = format!("127.0.0.1:{}", free_port());
        let config = ws.run("registry.yml");
        let yaml = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            ws.lib("registry").display()
        );
        std::fs::write(&config, yaml).expect("write registry config");
        let log = ws.run("registry.log");
        let mut cmd = Command::new("docker-registry");
        cmd.arg("serve").arg(&config);
        let daemon = Daemon::spawn("docker-registry", cmd, &log);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&host).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen on {host}; see {}", log.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry { host, log, scratch: ws.run("oci-layouts"), _daemon: daemon }
    }

    /// Pushes `image` as `<repo>:<tag>` with its digests unchanged; returns the reference.
    pub fn push(&self, image: &BuiltImage, repo: &str, tag: &str) -> String {
        let layout = self.scratch.join(format!("{}-{tag}", repo.replace('/', "_")));
        write_oci_layout(&layout, image, tag);
        let reference = format!("{}/{repo}:{tag}", self.host);
        let (ok, _, err) = run(Command::new("skopeo")
            .args(["copy", "--insecure-policy", "--preserve-digests", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{reference}")));
        assert!(ok, "skopeo push of {reference} failed: {err}");
        reference
    }

    /// The digest of `<repo>:<tag>` as the registry reports it.
    pub fn manifest_digest(&self, repo: &str, tag: &str) -> String {
        let (ok, out, err) = run(Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{}/{repo}:{tag}", self.host)));
        assert!(ok, "skopeo inspect failed: {err}");
        out.trim().to_string()
    }
}
