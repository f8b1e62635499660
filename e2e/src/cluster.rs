//! A one-node Kubernetes cluster whose kubelet runs pods through cricket: etcd, the API
//! server, the controller manager, the scheduler and kubelet, on a `Node` of the e2e suite.
//!
//! Everything lives in the node's network namespace, which has only loopback and a veth
//! pair (both ends inside) holding the node's address: the components talk on fixed ports there without
//! colliding with other tests, and no packet can leave the machine. kubectl runs there too.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::kube_cgroups::{cgroup_dirs, make_cgroup, pod_cgroups, wait_no_pod_cgroups, CgroupRoot};
use crate::kube_config::{self as config, ControlPlaneFiles, KubeletSettings};
use crate::kube_pki::Pki;
use crate::kubelet_fixed_dir::FixedKubeletDir;
use crate::process::{run, Daemon};
use crate::registry::in_netns;
use crate::{Node, NodeOptions};

/// The cluster's processes besides the node's own, by the names of their logs.
const COMPONENTS: [&str; 5] =
    ["kubelet", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"];

/// The node's name in the cluster.
pub const NODE_NAME: &str = "cricket-node";
/// The node's address, on a veth link inside the cluster's namespace (a documentation
/// range: it exists nowhere else).
pub const NODE_IP: &str = "192.0.2.10";

/// The CRI runtime kubelet uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum NodeRuntime {
    #[default]
    Cricket,
    /// Debian's containerd with its built-in CRI plugin (cricket idles beside it): the
    /// runtime the benchmarks compare with.
    ContainerdCri,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub runtime: NodeRuntime,
    /// kubelet feature gates set on top of the release's defaults.
    pub feature_gates: Vec<(String, bool)>,
    /// kubelet's image GC frees images unused for a minute (on its pass every 5 minutes).
    pub eager_image_gc: bool,
}

pub struct Cluster {
    // Dropped in this order after a failure: kubelet first, the node (cricket, containerd,
    // registry, namespace) last.
    kubelet: Option<Daemon>,
    scheduler: Option<Daemon>,
    controller_manager: Option<Daemon>,
    apiserver: Option<Daemon>,
    etcd: Option<Daemon>,
    containerd_cri: Option<crate::containerd_cri::ContainerdCri>,
    pub node: Node,
    // After the node, whose teardown ends the processes in these cgroups.
    cgroups: CgroupRoot,
    fixed_dir: FixedKubeletDir,
    pub dir: PathBuf,
    /// kubectl's configuration: a cluster administrator.
    pub kubeconfig: PathBuf,
    /// The node's pod CIDR (also its CNI subnet).
    pub pod_cidr: String,
    /// The busybox test image in the node's registry.
    pub busybox: String,
    kubelet_args: Vec<String>,
}

fn netns_path(node: &Node) -> String {
    format!("/run/netns/{}", node.netns.as_deref().expect("the cluster's node is isolated"))
}

/// Gives the isolated `node` its address ([`NODE_IP`], on a veth pair whose both ends are in
/// its namespace) and a blackhole default route: kubelet wants a default route to pick its
/// address family by, and the blackhole keeps every packet for elsewhere inside.
pub fn give_node_address(node: &Node) {
    add_node_link(node);
    assert!(ip_in(node, &["route", "add", "blackhole", "default"]));
}

/// Gives the isolated `node` its address as [`give_node_address`] does, with a default route
/// through the node's link instead, for programs that take their address from the default
/// route's interface (an in-process API server). A packet for elsewhere goes round inside the
/// namespace; iptables there rejects it at once, so a connection attempt fails as quickly as
/// with the blackhole.
pub fn give_node_address_and_default_link(node: &Node) {
    add_node_link(node);
    assert!(ip_in(node, &["route", "add", "default", "dev", "node0"]));
    let ns = node.netns.as_deref().unwrap();
    for chain in ["OUTPUT", "FORWARD"] {
        let rule = ["-A", chain, "-o", "node0", "!", "-d", NODE_IP, "-j", "REJECT"];
        let ok = Command::new("ip")
            .args(["netns", "exec", ns, "iptables"])
            .args(rule)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "iptables {rule:?} in {ns}");
    }
}

fn ip_in(node: &Node, args: &[&str]) -> bool {
    let ns = node.netns.as_deref().unwrap();
    Command::new("ip").args(["-n", ns]).args(args).status().is_ok_and(|s| s.success())
}

fn add_node_link(node: &Node) {
    let ok = |args: &[&str]| ip_in(node, args);
    assert!(
        ok(&["link", "add", "node0", "type", "veth", "peer", "name", "node0-peer"])
            && ok(&["addr", "add", &format!("{NODE_IP}/32"), "dev", "node0"])
            && ok(&["link", "set", "node0", "up"])
            && ok(&["link", "set", "node0-peer", "up"])
    );
}

impl Cluster {
    /// Starts every component and waits until the node is Ready and the default namespace's
    /// service account exists (pods can be created from then on).
    pub fn start(opts: ClusterOptions) -> Cluster {
        let node = Node::start(NodeOptions {
            registry: true,
            isolated_network: true,
            mirror_everything: true,
            ..Default::default()
        });
        node.write_cni_config();
        give_node_address(&node);

        let dir = node.ws.lib("kube");
        let pki = Pki::create(&dir.join("pki"));
        let apiserver_cert = pki.issue(
            "apiserver",
            "/CN=kube-apiserver",
            &[
                "IP:127.0.0.1",
                &format!("IP:{NODE_IP}"),
                "IP:10.96.0.1",
                "DNS:localhost",
                "DNS:kubernetes",
                "DNS:kubernetes.default.svc",
            ],
        );
        let admin = pki.issue("admin", "/O=system:masters/CN=cricket-e2e-admin", &[]);
        let kubelet_client = pki.issue(
            "apiserver-kubelet-client",
            "/O=system:masters/CN=kube-apiserver-kubelet-client",
            &[],
        );
        let node_client =
            pki.issue("kubelet", &format!("/O=system:nodes/CN=system:node:{NODE_NAME}"), &[]);
        let server = format!("https://127.0.0.1:{}", config::APISERVER_PORT);
        let kubeconfig = dir.join("admin.kubeconfig");
        pki.kubeconfig(&kubeconfig, &server, &admin);
        let kubelet_kubeconfig = dir.join("kubelet.kubeconfig");
        pki.kubeconfig(&kubelet_kubeconfig, &server, &node_client);

        let pod_cidr = node.pod_subnet();
        let cgroup_root = format!("/cricket-e2e-{}", node.ws.id);
        make_cgroup(&cgroup_root);
        let mut cluster = Cluster {
            kubelet: None,
            scheduler: None,
            controller_manager: None,
            apiserver: None,
            etcd: None,
            containerd_cri: None,
            cgroups: CgroupRoot { name: cgroup_root.clone(), pod_logs: dir.join("pods") },
            fixed_dir: FixedKubeletDir::take(),
            dir: dir.clone(),
            kubeconfig: kubeconfig.clone(),
            pod_cidr: pod_cidr.clone(),
            busybox: node.registry().push(&crate::test_images::busybox_image(), "e2e/busybox", "1"),
            kubelet_args: Vec::new(),
            node,
        };
        cluster.etcd = Some(cluster.spawn(
            "etcd",
            crate::kube::etcd_binary(),
            config::etcd_args(&dir.join("etcd")),
        ));
        let files = ControlPlaneFiles {
            pki: &pki,
            apiserver_cert: &apiserver_cert,
            kubelet_client: &kubelet_client,
            kubeconfig: &kubeconfig,
        };
        cluster.apiserver = Some(cluster.spawn(
            "kube-apiserver",
            crate::kube::binary("kube-apiserver"),
            config::apiserver_args(&files, NODE_IP),
        ));
        cluster.wait("the API server to serve", Duration::from_secs(90), |c| {
            c.kubectl(&["get", "--raw", "/readyz"]).0
        });
        cluster.controller_manager = Some(cluster.spawn(
            "kube-controller-manager",
            crate::kube::binary("kube-controller-manager"),
            config::controller_manager_args(&files, &pod_cidr),
        ));
        cluster.scheduler = Some(cluster.spawn(
            "kube-scheduler",
            crate::kube::binary("kube-scheduler"),
            config::scheduler_args(&kubeconfig),
        ));

        let settings = KubeletSettings {
            node_name: NODE_NAME.into(),
            address: NODE_IP.into(),
            pod_cidr,
            cri_socket: cluster.cri_socket(opts.runtime),
            cgroup_root,
            root_dir: dir.join("kubelet"),
            pod_logs_dir: dir.join("pods"),
            client_ca: pki.ca_cert.clone(),
            feature_gates: opts.feature_gates.clone(),
            eager_image_gc: opts.eager_image_gc,
        };
        let kubelet_config = dir.join("kubelet.yaml");
        std::fs::write(&kubelet_config, config::kubelet_config(&settings)).unwrap();
        cluster.kubelet_args = vec![
            format!("--config={}", kubelet_config.display()),
            format!("--kubeconfig={}", kubelet_kubeconfig.display()),
            format!("--root-dir={}", settings.root_dir.display()),
            format!("--cert-dir={}", dir.join("kubelet-pki").display()),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={NODE_IP}"),
            "--v=2".into(),
        ];
        cluster.start_kubelet();
        cluster.wait_node_ready();
        cluster.wait("the default service account", Duration::from_secs(60), |c| {
            c.kubectl(&["get", "serviceaccount", "default"]).0
        });
        cluster
    }

    /// The socket kubelet is to use: cricket's, or that of a containerd with its own CRI
    /// started now in the node's namespace (its pause image from the node's registry).
    fn cri_socket(&mut self, runtime: NodeRuntime) -> PathBuf {
        match runtime {
            NodeRuntime::Cricket => self.node.cricket.as_ref().unwrap().socket.clone(),
            NodeRuntime::ContainerdCri => {
                let registry = self.node.registry();
                let pause = registry.push(&cricket::pause_image::build(), "e2e/pause", "1");
                let ctd = crate::containerd_cri::ContainerdCri::start_in(
                    &self.node.ws,
                    &registry.host,
                    &pause,
                    &self.pod_cidr,
                    self.node.netns.as_deref(),
                );
                let socket = ctd.address.clone();
                self.containerd_cri = Some(ctd);
                socket
            }
        }
    }

    fn spawn(&self, name: &'static str, binary: PathBuf, args: Vec<String>) -> Daemon {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", netns_path(&self.node))).arg("--").arg(binary).args(args);
        Daemon::spawn(name, cmd, &self.log(name))
    }

    /// Where a component's output goes.
    pub fn log(&self, component: &str) -> PathBuf {
        self.dir.join(format!("{component}.log"))
    }

    /// Starts kubelet (again) with the cluster's settings.
    pub fn start_kubelet(&mut self) {
        self.kubelet =
            Some(self.spawn("kubelet", crate::kube::binary("kubelet"), self.kubelet_args.clone()));
    }

    /// Stops kubelet: SIGTERM, then SIGKILL after 10 s.
    pub fn stop_kubelet(&mut self) {
        if let Some(mut k) = self.kubelet.take() {
            k.stop(Duration::from_secs(10));
        }
    }

    pub fn wait_node_ready(&self) {
        let ready = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
        let kubelet = self.kubelet.as_ref().map_or(0, Daemon::pid);
        self.wait("the node to be Ready", Duration::from_secs(120), |c| {
            assert!(alive(kubelet), "kubelet exited:\n{}", c.log_tails());
            c.kubectl(&["get", "node", NODE_NAME, "-o", ready]).1.trim() == "True"
        });
    }

    /// Polls `check` every 250 ms until it holds; fails the test (with the components' log
    /// tails) after `limit`.
    pub fn wait(&self, what: &str, limit: Duration, mut check: impl FnMut(&Cluster) -> bool) {
        let deadline = Instant::now() + limit;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A command run in the cluster's network namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        in_netns(self.node.netns.as_deref(), program)
    }

    /// kubectl as the cluster's administrator: (success, stdout, stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        run(self.kubectl_command().args(args))
    }

    /// kubectl that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.kubectl(args);
        assert!(ok, "kubectl {args:?} failed: {err}{out}");
        out
    }

    pub fn kubectl_command(&self) -> Command {
        let mut cmd = self.command(crate::kube::binary("kubectl"));
        cmd.arg(format!("--kubeconfig={}", self.kubeconfig.display()));
        cmd
    }

    /// `kubectl apply` of a manifest.
    pub fn apply(&self, manifest: &str) {
        let (code, _, err) = crate::process::run_with_input(
            self.kubectl_command().args(["apply", "-f", "-"]),
            manifest,
        );
        assert_eq!(code, Some(0), "kubectl apply failed: {err}\n{manifest}");
    }

    /// A namespace of the test's own, with its default service account in place.
    pub fn namespace(&self, name: &str) -> String {
        self.kubectl_ok(&["create", "namespace", name]);
        self.wait("the namespace's service account", Duration::from_secs(60), |c| {
            c.kubectl(&["-n", name, "get", "serviceaccount", "default"]).0
        });
        name.to_string()
    }

    /// The last lines of each component's log.
    pub fn log_tails(&self) -> String {
        let mut text = String::new();
        for name in COMPONENTS {
            let log = std::fs::read_to_string(self.log(name)).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            text.push_str(&format!(
                "--- {name}:\n{}\n",
                lines[lines.len().saturating_sub(15)..].join("\n")
            ));
        }
        text.push_str(&format!("--- cricket:\n{}\n", self.node.cricket_log_tail(20)));
        text
    }

    /// Copies the components' logs to `target/tmp/cluster-<id>/`, where they outlive the
    /// cluster for whoever reads a failure.
    pub fn keep_logs(&self) {
        let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("cluster-{}", self.node.ws.id));
        let _ = std::fs::create_dir_all(&kept);
        for name in COMPONENTS {
            let _ = std::fs::copy(self.log(name), kept.join(format!("{name}.log")));
        }
        if let Some(c) = &self.node.cricket {
            let _ = std::fs::copy(&c.log, kept.join("cricket.log"));
        }
    }

    /// The cgroup under which kubelet puts its pods.
    pub fn cgroup_root(&self) -> &str {
        &self.cgroups.name
    }

    /// Deletes every pod (kubelet stops and removes each, as on a real node), stops every
    /// component and fails the test if anything was left behind.
    pub fn finish(self) {
        // Controllers first, or they would make new pods for the deleted ones.
        let _ = self.kubectl(&[
            "delete",
            "deployments,replicasets,daemonsets,statefulsets,jobs",
            "--all",
            "--all-namespaces",
            "--timeout=60s",
        ]);
        let _ = self.kubectl(&[
            "delete",
            "pods",
            "--all",
            "--all-namespaces",
            "--grace-period=1",
            "--timeout=90s",
        ]);
        wait_no_pod_cgroups(&self.cgroups.name, Duration::from_secs(60));
        let left = pod_cgroups(&self.cgroups.name);
        self.keep_logs();
        let Cluster {
            kubelet,
            scheduler,
            controller_manager,
            apiserver,
            etcd,
            containerd_cri,
            cgroups,
            fixed_dir,
            node,
            ..
        } = self;
        for mut d in [kubelet, scheduler, controller_manager, apiserver, etcd].into_iter().flatten()
        {
            d.stop(Duration::from_secs(10));
        }
        drop(containerd_cri);
        drop(fixed_dir);
        let node_clean = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| node.finish()));
        let root = cgroups.name.clone();
        drop(cgroups);
        if let Err(leaks) = node_clean {
            std::panic::resume_unwind(leaks);
        }
        let cgroups_left: Vec<PathBuf> =
            cgroup_dirs(&root).into_iter().filter(|d| d.exists()).collect();
        assert!(cgroups_left.is_empty(), "cgroups left behind: {cgroups_left:?}");
        assert!(
            left.is_empty(),
            "kubelet left pod cgroups behind after every pod was deleted: {left:?}"
        );
    }
}

/// Whether process `pid` lives (a zombie, exited but not yet reaped, does not).
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z")
}
