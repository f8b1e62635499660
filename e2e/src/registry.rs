//! Debian's docker-registry (distribution 2.8) on 127.0.0.1 and a free port, for one test;
//! optionally behind htpasswd authentication, optionally in the test's network namespace.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use containerd_bridge::oci_image::{Blob, BuiltImage};

use crate::process::{run, Daemon};
use crate::test_images::write_dir_layout;
use crate::workspace::Workspace;

pub struct Registry {
    /// `127.0.0.1:<port>`
    pub host: String,
    pub log: PathBuf,
    storage: PathBuf,
    scratch: PathBuf,
    netns: Option<String>,
    auth: Option<(String, String)>,
    _daemon: Daemon,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

/// `cmd` run inside `netns` if there is one. Only the network namespace is entered (not
/// `ip netns exec`'s private mount namespace): containerd, cricket and the shims must see one
/// another's mounts, such as pinned namespaces. The backend's programs come first on its `PATH`.
pub fn in_netns(netns: Option<&str>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match netns {
        Some(ns) => {
            let mut c = crate::backend::command("nsenter");
            c.arg(format!("--net=/run/netns/{ns}")).arg("--").arg(program);
            c
        }
        None => crate::backend::command(program),
    }
}

impl Registry {
    pub fn start(ws: &Workspace, auth: Option<(&str, &str)>, netns: Option<&str>) -> Registry {
        let host = format!("127.0.0.1:{}", free_port());
        let storage = ws.lib("registry");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            storage.display()
        );
        if let Some((user, password)) = auth {
            let file = ws.run("htpasswd");
            let (ok, out, err) = run(Command::new("htpasswd").args(["-Bbn", user, password]));
            assert!(ok, "htpasswd (apache2-utils): {err}");
            std::fs::write(&file, out).unwrap();
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: cricket-e2e\n    path: {}\n",
                file.display()
            ));
        }
        let config = ws.run("registry.yml");
        std::fs::write(&config, yaml).expect("write registry config");
        let log = ws.run("registry.log");
        let mut cmd = in_netns(netns, "docker-registry");
        cmd.arg("serve").arg(&config);
        let daemon = Daemon::spawn("docker-registry", cmd, &log);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("listening on") {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {host}; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry {
            host,
            log,
            storage,
            scratch: ws.run("oci-layouts"),
            netns: netns.map(str::to_string),
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            _daemon: daemon,
        }
    }

    fn skopeo(&self, args: &[&str], layout: &std::path::Path, reference: &str) {
        let mut cmd = in_netns(self.netns.as_deref(), "skopeo");
        cmd.args(["copy", "--insecure-policy", "--preserve-digests", "--dest-tls-verify=false"])
            .args(args);
        if let Some((u, p)) = &self.auth {
            cmd.arg(format!("--dest-creds={u}:{p}"));
        }
        cmd.arg(format!("dir:{}", layout.display())).arg(format!("docker://{reference}"));
        let (ok, _, err) = run(&mut cmd);
        assert!(ok, "skopeo push of {reference} failed: {err}");
    }

    /// Pushes `image` as `<repo>:<tag>` with its digests unchanged; returns the reference.
    pub fn push(&self, image: &BuiltImage, repo: &str, tag: &str) -> String {
        let layout = self.scratch.join(format!("{}-{tag}", repo.replace('/', "_")));
        write_dir_layout(&layout, &[image], &image.manifest);
        let reference = format!("{}/{repo}:{tag}", self.host);
        self.skopeo(&[], &layout, &reference);
        reference
    }

    /// Pushes an index over `images` as `<repo>:<tag>`; returns the reference.
    pub fn push_index(
        &self,
        images: &[&BuiltImage],
        index: &Blob,
        repo: &str,
        tag: &str,
    ) -> String {
        let layout = self.scratch.join(format!("{}-{tag}-index", repo.replace('/', "_")));
        write_dir_layout(&layout, images, index);
        let reference = format!("{}/{repo}:{tag}", self.host);
        self.skopeo(&["--all"], &layout, &reference);
        reference
    }

    /// The digest of `<repo>:<tag>` as the registry reports it.
    pub fn manifest_digest(&self, repo: &str, tag: &str) -> String {
        let mut cmd = in_netns(self.netns.as_deref(), "skopeo");
        cmd.args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]);
        if let Some((u, p)) = &self.auth {
            cmd.arg(format!("--creds={u}:{p}"));
        }
        let (ok, out, err) = run(cmd.arg(format!("docker://{}/{repo}:{tag}", self.host)));
        assert!(ok, "skopeo inspect failed: {err}");
        out.trim().to_string()
    }

    /// How many `method` requests for paths containing `path` the access log shows.
    pub fn count_requests(&self, method: &str, path: &str) -> usize {
        let needle = format!("\"{method} {path}");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&needle))
            .count()
    }

    /// Overwrites a stored blob with other bytes of the same length (the registry serves it
    /// unchecked, as a corrupted disk or a lying mirror would).
    pub fn corrupt_blob(&self, digest: &str) {
        let hex = digest.trim_start_matches("sha256:");
        let path =
            self.storage.join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]));
        let mut data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mid = data.len() / 2;
        data[mid] ^= 0xff;
        std::fs::write(&path, data).unwrap();
    }
}
