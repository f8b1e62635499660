//! A test node: a private containerd, optionally a registry and a CNI config, and cricket.

use std::time::Duration;

use crate::containerd::Containerd;
use crate::cri_client::CriClient;
use crate::cricket::{write_config, Cricket};
use crate::leaks::{find_leaks, unmount_below};
use crate::registry::Registry;
use crate::workspace::Workspace;

/// The CRI namespace the test config uses.
pub const NAMESPACE: &str = "k8s.io";

#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Start a docker-registry for this node (cricket's config marks it insecure).
    pub registry: bool,
    /// The registry wants this user and password (htpasswd).
    pub registry_auth: Option<(String, String)>,
    /// Run the registry and cricket in a network namespace with only loopback, so that no
    /// request can leave the machine even when a test names an outside registry.
    pub isolated_network: bool,
    /// cricket fetches every registry's images from the node's registry first (`"*"`
    /// mirrors): stand-ins for public images, pushed under the same repository paths.
    pub mirror_everything: bool,
    /// Do not start cricket (tests that run it themselves).
    pub without_cricket: bool,
    /// Leave the registry out of cricket's config: a registry on the node itself must work
    /// without any.
    pub registry_unconfigured: bool,
    /// More cricket TOML, appended to the generated config.
    pub extra_config: String,
    /// cricket logs at `info`, as on a node, instead of the tests' `debug` (for latency
    /// benches: a debug line per step adds contention on the log file).
    pub info_logs: bool,
}

pub struct Node {
    pub ws: Workspace,
    /// The network namespace of an isolated node.
    pub netns: Option<String>,
    pub containerd: Containerd,
    pub registry: Option<Registry>,
    pub cricket: Option<Cricket>,
    finished: bool,
}

impl Node {
    pub fn start(opts: NodeOptions) -> Node {
        let ws = Workspace::new();
        let netns = opts.isolated_network.then(|| create_netns(&format!("cricket-e2e-{}", ws.id)));
        // Dropped after the daemons below when a step panics (cricket failing to serve).
        let half_started = HalfStarted {
            netns: netns.clone(),
            dirs: vec![ws.run_dir.clone(), ws.lib_dir.clone()],
        };
        let containerd = Containerd::start_in(&ws, netns.as_deref());
        let auth = opts.registry_auth.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        let registry = opts.registry.then(|| Registry::start(&ws, auth, netns.as_deref()));
        let mut extra = String::new();
        if let Some(r) = registry.as_ref().filter(|_| !opts.registry_unconfigured) {
            extra.push_str(&format!("\n[images.registries.\"{}\"]\ninsecure = true\n", r.host));
            if opts.mirror_everything {
                extra.push_str(&format!(
                    "\n[images.registries.\"*\"]\nmirrors = [\"http://{}\"]\n",
                    r.host
                ));
            }
        }
        extra.push_str(&opts.extra_config);
        let config = write_config(&ws, &containerd.address, &extra);
        if opts.info_logs {
            let text = std::fs::read_to_string(&config).expect("the config just written");
            let info = text.replace("log_level = \"debug\"", "log_level = \"info\"");
            std::fs::write(&config, info).expect("rewrite the config");
        }
        let cricket =
            (!opts.without_cricket).then(|| Cricket::start_in(&ws, config, netns.as_deref()));
        std::mem::forget(half_started);
        Node { ws, netns, containerd, registry, cricket, finished: false }
    }

    /// Waits until cricket reports RuntimeReady (its stores are loaded by then).
    pub async fn wait_ready(&self) {
        let client = self.client().await;
        let ready = crate::eventually(Duration::from_secs(20), || {
            let mut c = client.clone();
            async move { c.runtime_ready().await.then_some(()) }
        })
        .await;
        assert!(ready.is_some(), "cricket never became ready");
    }

    pub fn registry(&self) -> &Registry {
        self.registry.as_ref().expect("this node runs a registry")
    }

    pub fn cricket(&mut self) -> &mut Cricket {
        self.cricket.as_mut().expect("this node runs cricket")
    }

    /// The last `lines` lines of cricket's log, for failure messages.
    pub fn cricket_log_tail(&self, lines: usize) -> String {
        let text = self.cricket.as_ref().map(|c| c.log_text()).unwrap_or_default();
        let all: Vec<&str> =
            text.lines().filter(|l| !l.contains(" h2::") && !l.contains(" hyper")).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub async fn client(&self) -> CriClient {
        self.cricket.as_ref().expect("this node runs cricket").client().await
    }

    /// The node's own /24 (from its workspace id), so parallel tests never share a subnet.
    pub fn pod_subnet(&self) -> String {
        let n = u32::from_str_radix(&self.ws.id, 16).unwrap_or(0);
        format!("10.{}.{}.0/24", 200 + (n >> 8) % 50, n % 256)
    }

    /// The node's bridge name.
    pub fn bridge(&self) -> String {
        format!("ck{}", self.ws.id)
    }

    /// Writes a CNI conflist into the node's conf dir: a bridge of its own, its own subnet, no
    /// masquerading, and portmap.
    pub fn write_cni_config(&self) {
        write_conflist(
            &self.ws.run("net.d"),
            &format!("e2e-{}", self.ws.id),
            &self.bridge(),
            &self.pod_subnet(),
            &self.ws.run("ipam"),
        );
    }

    /// Installs a fake CNI plugin (a shell script body) in the node's own plugin directory.
    pub fn fake_plugin(&self, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.ws.run("cni-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Adds `plugin` (a JSON object) after the bridge in the node's conflist.
    pub fn append_cni_plugin(&self, plugin: serde_json::Value) {
        let file = self.ws.run("net.d").join("10-e2e.conflist");
        let mut conf: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        conf["plugins"].as_array_mut().unwrap().insert(1, plugin);
        std::fs::write(&file, serde_json::to_vec_pretty(&conf).unwrap()).unwrap();
    }

    /// The pod addresses the node's host-local IPAM holds.
    pub fn reserved_ips(&self) -> Vec<String> {
        std::fs::read_dir(self.ws.run("ipam"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("10."))
            .collect()
    }

    /// Names that only this test's leftovers can mention.
    fn needles(&self) -> Vec<String> {
        vec![format!("cricket-e2e-{}", self.ws.id), format!("ck{}", self.ws.id)]
    }

    /// Tears everything down and fails the test if anything was left behind.
    pub fn finish(mut self) {
        self.teardown();
        let leaks = find_leaks(&self.needles());
        assert!(leaks.is_empty(), "the test left things behind:\n{}", leaks.join("\n"));
    }

    fn teardown(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(c) = self.cricket.as_mut() {
            c.stop();
        }
        self.remove_containerd_workloads();
        self.containerd.stop();
        self.registry = None;
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.bridge()])
            .stderr(std::process::Stdio::null())
            .status();
        remove_netns_and_dirs(self.netns.take(), &[&self.ws.run_dir, &self.ws.lib_dir]);
    }

    /// Kills and deletes every task and container so no shim outlives the test.
    fn remove_containerd_workloads(&self) {
        let (_, tasks, _) = self.containerd.ctr(NAMESPACE, &["tasks", "ls", "-q"]);
        for id in tasks.lines().filter(|l| !l.is_empty()) {
            self.containerd.ctr(NAMESPACE, &["tasks", "kill", "-s", "SIGKILL", id]);
        }
        std::thread::sleep(Duration::from_millis(if tasks.trim().is_empty() { 0 } else { 300 }));
        for id in tasks.lines().filter(|l| !l.is_empty()) {
            self.containerd.ctr(NAMESPACE, &["tasks", "delete", "-f", id]);
        }
        let (_, containers, _) = self.containerd.ctr(NAMESPACE, &["containers", "ls", "-q"]);
        for id in containers.lines().filter(|l| !l.is_empty()) {
            self.containerd.ctr(NAMESPACE, &["containers", "delete", id]);
        }
    }
}

impl Drop for Node {
    /// A test that failed (or never called `finish`) still leaves no process of its own
    /// behind: a shim its containerd started that outlived the teardown is killed by PID.
    fn drop(&mut self) {
        let finished = self.finished;
        self.teardown();
        if finished {
            return;
        }
        for needle in self.needles() {
            for process in crate::leaks::processes_naming(&needle) {
                if let Some(pid) = process.split(':').next().and_then(|p| p.parse::<i32>().ok()) {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    }
}

/// What `Node::start` made before a step of it panicked; the daemons' own drops stop them.
struct HalfStarted {
    netns: Option<String>,
    dirs: Vec<std::path::PathBuf>,
}

impl Drop for HalfStarted {
    fn drop(&mut self) {
        remove_netns_and_dirs(self.netns.take(), &self.dirs.iter().collect::<Vec<_>>());
    }
}

fn remove_netns_and_dirs(netns: Option<String>, dirs: &[&std::path::PathBuf]) {
    if let Some(ns) = netns {
        let _ = std::process::Command::new("ip").args(["netns", "delete", &ns]).status();
    }
    for dir in dirs {
        unmount_below(&dir.display().to_string());
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A network namespace with only loopback, up.
fn create_netns(name: &str) -> String {
    let ok = |args: &[&str]| {
        std::process::Command::new("ip").args(args).status().is_ok_and(|s| s.success())
    };
    assert!(ok(&["netns", "add", name]), "ip netns add {name}");
    assert!(ok(&["-n", name, "link", "set", "lo", "up"]), "bring lo up in {name}");
    name.to_string()
}

/// Writes `dir/10-e2e.conflist`: network `name` on its own `bridge` and `subnet` (host-local
/// addresses kept in `ipam_dir`), no masquerading, and portmap.
pub fn write_conflist(
    dir: &std::path::Path,
    name: &str,
    bridge: &str,
    subnet: &str,
    ipam_dir: &std::path::Path,
) {
    std::fs::create_dir_all(dir).unwrap();
    let conf = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            { "type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": false,
              "ipam": { "type": "host-local", "ranges": [[{ "subnet": subnet }]], "dataDir": ipam_dir.display().to_string() } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
        ]
    });
    std::fs::write(dir.join("10-e2e.conflist"), serde_json::to_vec_pretty(&conf).unwrap()).unwrap();
}
