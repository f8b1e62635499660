//! Kubernetes' node end-to-end suite (`test/e2e_node`, built from the Kubernetes release
//! kubelet is built from) run in its local mode against one runtime on an isolated e2e node.
//!
//! The suite runs its own etcd, API server and namespace controller in-process and starts
//! kubelet from a binary directory. It runs inside the node's network namespace (loopback and
//! the node's address), so its fixed ports collide with nothing and no packet leaves. Its
//! images come from the node's registry through a `"*"` mirror. kubelet keeps its state in
//! `/var/lib/kubelet` (specs read its pod-resources socket and credential-provider
//! directory there, whatever kubelet's root), its pods under `/kubepods` and their logs in
//! `/var/log/pods`: one run at a time on a machine, and none beside another kubelet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cricket::api::v1::{ListPodSandboxRequest, RemovePodSandboxRequest, StopPodSandboxRequest};

use crate::cluster::{give_node_address_and_default_link, NodeRuntime, NODE_IP, NODE_NAME};
use crate::containerd_cri::{write_plain_host, ContainerdCri};
use crate::go_build::{build_in_module, ModuleTarget};
use crate::kube_cgroups::{cgroup_dirs, CgroupRoot};
use crate::kube_config::{kubelet_config, KubeletSettings};
use crate::kubelet_fixed_dir::{FixedKubeletDir, FIXED_KUBELET_DIR};
use crate::process::Daemon;
use crate::{Node, NodeOptions};

/// The specs the suite's own tag marks as node conformance.
pub const FOCUS: &str = r"\[NodeConformance\]";

/// Specs that need what this machine cannot have, each with the reason. (The suite skips
/// others itself here: swap limits and PSI under pressure on cgroup v1, SR-IOV devices, CPU
/// manager specs on fewer than 4 CPUs.)
pub const SKIPPED: &[(&str, &str)] = &[
    (
        "Summary API when querying /stats/summary should report resource usage through the stats api",
        "expects PSI figures (KubeletPSI is GA and locked on), which exist only on cgroup v2",
    ),
    (
        "PrivilegedPod should enable privileged commands",
        "adds a dummy link, a link type this kernel (no modules) lacks",
    ),
    (
        "with a critical pod - should avoid swap",
        "reads the pod's memory.swap.max, a file only cgroup v2 has",
    ),
    (
        "it should launch successfully even if it temporarily failed termination due to volume failing to unmount",
        "mounts an NFS volume, and this kernel has no NFS",
    ),
    (
        "the container runtime is temporarily down during pod termination",
        "stops the container runtime through systemd's D-Bus API, and no systemd runs here",
    ),
    (
        "ImageGarbageCollect when ImageMaximumGCAge is set",
        "pulls the suite's whole image list afterwards, busybox by a registry.k8s.io digest among it: no local image has that digest, and no outside registry is reachable",
    ),
];

/// Ginkgo's skip expression for [`SKIPPED`].
pub fn skip_expression() -> String {
    SKIPPED.iter().map(|(spec, _)| regex_escape(spec)).collect::<Vec<_>>().join("|")
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| if r"\.+*?()|[]{}^$".contains(c) { vec!['\\', c] } else { vec![c] })
        .collect()
}

/// kubelet's pods' cgroup (in every hierarchy). The suite's cgroup specs look for it at the
/// hierarchies' top whatever kubelet's cgroup root, so kubelet's root is the top.
const KUBEPODS: &str = "/kubepods";

/// kubelet's pod log directory: the log path specs read the logs there, whatever kubelet's
/// setting. Each pod's directory goes with the pod.
const POD_LOGS: &str = "/var/log/pods";

/// The runtime handler the suite's RuntimeClass specs expect the runtime to have (runc under
/// another name); both runtimes under test get it.
pub const TEST_HANDLER: &str = "test-handler";

/// Where the private-registry specs run their registry (a host-network pod).
const SPEC_REGISTRY: &str = "localhost:5000";

/// One run of the suite.
#[derive(Debug, Clone)]
pub struct SuiteRun {
    pub runtime: NodeRuntime,
    /// Ginkgo's focus and skip regular expressions.
    pub focus: String,
    pub skip: String,
    /// Where the suite's log and JUnit report are kept.
    pub out_dir: PathBuf,
    /// The whole run's limit; the suite is killed after it.
    pub limit: Duration,
    /// How many suite processes run specs at once.
    pub procs: usize,
}

/// The JUnit report's name in the output directory (the name the suite gives it there).
const REPORT: &str = "junit_01.xml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone)]
pub struct SpecResult {
    pub name: String,
    pub outcome: Outcome,
}

/// How many of `specs` had `outcome`.
pub fn count(specs: &[SpecResult], outcome: Outcome) -> usize {
    specs.iter().filter(|s| s.outcome == outcome).count()
}

/// Ginkgo's runner, which runs the suite in parallel processes.
pub fn ginkgo_binary() -> PathBuf {
    let module = crate::kube::module_dir();
    build_in_module(
        &module,
        ModuleTarget::Program("github.com/onsi/ginkgo/v2/ginkgo"),
        "ginkgo",
        &[],
        &[],
    )
}

/// The suite as one binary (`go test -c`), built once per version of the module.
pub fn suite_binary() -> PathBuf {
    let module = crate::kube::module_dir();
    build_in_module(
        &module,
        ModuleTarget::TestSuite("k8s.io/kubernetes/test/e2e_node"),
        "e2e_node.test",
        &[],
        &[],
    )
}

/// Runs the suite and returns each spec's outcome from its JUnit report; fails if the suite
/// did not write one.
pub fn run(opts: &SuiteRun) -> Vec<SpecResult> {
    // The suite runs in the node's directory: its report and logs need an absolute path.
    std::fs::create_dir_all(&opts.out_dir).unwrap();
    let out_dir = std::path::absolute(&opts.out_dir).unwrap();
    let opts = &SuiteRun { out_dir, ..opts.clone() };
    let kubelet_dirs = cgroup_dirs(KUBEPODS).into_iter().chain([PathBuf::from(FIXED_KUBELET_DIR)]);
    if let Some(dir) = kubelet_dirs.into_iter().find(|d| d.exists()) {
        panic!(
            "{} exists: another kubelet's (or a killed run's; remove it if no kubelet runs)",
            dir.display()
        );
    }
    let fixed_dir = FixedKubeletDir::take();
    let node = start_node();
    let dir = node.ws.lib("node-e2e");
    install_binaries(&dir);
    let containerd_cri =
        (opts.runtime == NodeRuntime::ContainerdCri).then(|| start_containerd_cri(&node));
    let socket = match &containerd_cri {
        Some(ctd) => ctd.address.clone(),
        None => node.cricket.as_ref().unwrap().socket.clone(),
    };
    let cgroups = CgroupRoot { name: KUBEPODS.into(), pod_logs: PathBuf::from(POD_LOGS) };
    let settings = KubeletSettings {
        node_name: NODE_NAME.into(),
        address: "0.0.0.0".into(),
        pod_cidr: node.pod_subnet(),
        cri_socket: socket.clone(),
        cgroup_root: "/".into(),
        root_dir: PathBuf::from(FIXED_KUBELET_DIR),
        pod_logs_dir: PathBuf::from(POD_LOGS),
        ..Default::default()
    };
    std::fs::write(dir.join("kubelet.yaml"), kubelet_config(&settings)).unwrap();

    run_suite(opts, &node, &dir, &settings);
    remove_all_pods(&socket);
    drop(fixed_dir);
    drop(containerd_cri);
    node.finish();
    drop(cgroups);
    let report = std::fs::read_to_string(opts.out_dir.join(REPORT));
    let report = report.unwrap_or_else(|e| {
        panic!("no JUnit report in {} ({e}); see e2e_node.log there", opts.out_dir.display())
    });
    parse_junit(&report)
}

/// An isolated node whose registry holds the suite's images and mirrors every registry but
/// the one the private-registry specs run.
fn start_node() -> Node {
    let node = Node::start(NodeOptions {
        registry: true,
        isolated_network: true,
        mirror_everything: true,
        extra_config: format!(
            "\n[images.registries.\"{SPEC_REGISTRY}\"]\ninsecure = true\n\n[containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\n\n[containerd.runtimes.{TEST_HANDLER}]\nruntime_type = \"io.containerd.runc.v2\"\n"
        ),
        ..Default::default()
    });
    node.write_cni_config();
    give_node_address_and_default_link(&node);
    crate::node_e2e_images::push_all(node.registry());
    node
}

/// The suite and kubelet in `dir/bin`: the suite looks for kubelet beside itself (the
/// directory of its resolved argv[0]), so the suite is a copy, not a link.
fn install_binaries(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::os::unix::fs::symlink(crate::kube::binary("kubelet"), dir.join("bin/kubelet")).unwrap();
    std::fs::copy(suite_binary(), dir.join("bin/e2e_node.test")).unwrap();
}

/// containerd with its own CRI in the node's namespace, every registry mirrored to the node's
/// but the private-registry specs' own.
fn start_containerd_cri(node: &Node) -> ContainerdCri {
    let registry = node.registry().host.clone();
    let pause = format!("{registry}/pause:3.10.2");
    let ctd = ContainerdCri::start_mirroring(
        &node.ws,
        &registry,
        &pause,
        &node.pod_subnet(),
        node.netns.as_deref(),
        &["_default"],
    );
    write_plain_host(&ctd.hosts_dir, SPEC_REGISTRY);
    ctd
}

/// Runs ginkgo with the suite in the node's namespace until it ends or `opts.limit` passes,
/// then ends what it left running.
fn run_suite(opts: &SuiteRun, node: &Node, dir: &Path, kubelet: &KubeletSettings) {
    std::fs::create_dir_all(&opts.out_dir).unwrap();
    let _ = std::fs::remove_file(opts.out_dir.join(REPORT));
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/run/netns/{}", node.netns.as_deref().unwrap()))
        .arg("--")
        .arg(ginkgo_binary());
    cmd.args(suite_args(
        opts,
        &dir.join("bin/e2e_node.test"),
        &kubelet.cri_socket,
        &dir.join("kubelet.yaml"),
        &kubelet.root_dir,
    ))
    .current_dir(dir)
    .env("PATH", search_path_without_systemd(&dir.join("path")));
    crate::kubelet_unit::install(
        &dir.join("path"),
        &dir.join("bin/kubelet"),
        dir,
        &opts.out_dir.join("kubelet.log"),
    );
    let mut suite_process = Daemon::spawn("ginkgo", cmd, &opts.out_dir.join("e2e_node.log"));
    if suite_process.wait_exit(opts.limit).is_none() {
        suite_process.stop(Duration::from_secs(30));
    }
    drop(suite_process);
    kill_leftovers(dir);
}

/// The ginkgo runner's command line: `procs` suite processes at once ([Serial] specs run
/// last, alone), the suite's own flags after `--`.
fn suite_args(
    opts: &SuiteRun,
    suite: &Path,
    socket: &Path,
    config: &Path,
    root_dir: &Path,
) -> Vec<String> {
    let endpoint = format!("unix://{}", socket.display());
    // kubelet's own cgroups stay where they are (the suite would move every process of the
    // machine's root cgroup into /system when no systemd runs); its state is the node's.
    let kubelet_flags = format!(
        "--root-dir={} --cert-dir={} --node-ip={NODE_IP} --kubelet-cgroups= --system-cgroups= --runtime-cgroups= --v=2",
        root_dir.display(),
        root_dir.join("pki").display()
    );
    vec![
        format!("--procs={}", opts.procs),
        format!("--focus={}", opts.focus),
        format!("--skip={}", opts.skip),
        format!("--timeout={}s", opts.limit.as_secs()),
        format!("--junit-report={}", opts.out_dir.join(REPORT).display()),
        "--no-color".into(),
        "-v".into(),
        suite.display().to_string(),
        "--".into(),
        format!("--container-runtime-endpoint={endpoint}"),
        format!("--image-service-endpoint={endpoint}"),
        "--prepull-images=false".into(),
        format!("--node-name={NODE_NAME}"),
        format!("--kubelet-config-file={}", config.display()),
        format!("--kubelet-flags={kubelet_flags}"),
        format!("--report-dir={}", opts.out_dir.display()),
    ]
}

/// A `PATH` of one directory linking every program on the usual path but `systemd-run`: the
/// suite runs kubelet through systemd-run whenever it finds it, and no systemd runs here.
/// (`kubelet_unit` then puts its own `systemctl` and `sudo` there.)
fn search_path_without_systemd(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let backend =
        crate::backend::search_path().map(std::env::split_paths).into_iter().flatten().take(1);
    let usual = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .map(PathBuf::from);
    for source in backend.chain(usual) {
        for entry in std::fs::read_dir(&source).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let link = dir.join(&name);
            if name != "systemd-run" && !link.exists() {
                let _ = std::os::unix::fs::symlink(entry.path(), link);
            }
        }
    }
    dir.to_path_buf()
}

/// SIGKILLs what the suite started and left when it was stopped (its services process and
/// kubelet): every process whose command line names `dir`, this run's own directory.
fn kill_leftovers(dir: &Path) {
    let mark = dir.display().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if pid != std::process::id() as i32 && cmdline.contains(mark.as_str()) {
            // SAFETY: a plain syscall on a PID this run started (its command line names this run's directory).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Stops and removes every pod the suite left (kubelet is gone, so nobody else will).
fn remove_all_pods(socket: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let Ok(mut cri) = crate::cri_client::CriClient::connect(socket).await else {
            return;
        };
        let Ok(pods) = cri.runtime.list_pod_sandbox(ListPodSandboxRequest::default()).await else {
            return;
        };
        for pod in pods.into_inner().items {
            let _ = cri
                .runtime
                .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() })
                .await;
            let _ = cri
                .runtime
                .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod.id })
                .await;
        }
    });
}

/// Each `<testcase>` of a Ginkgo JUnit report: its name and outcome.
pub fn parse_junit(xml: &str) -> Vec<SpecResult> {
    xml.split("<testcase ")
        .skip(1)
        .filter_map(|case| {
            let head = &case[..case.find('>').unwrap_or(case.len())];
            let name = unescape(&attribute(head, "name")?);
            let outcome = match attribute(head, "status").as_deref() {
                Some("passed") => Outcome::Passed,
                Some("skipped" | "pending") => Outcome::Skipped,
                _ => Outcome::Failed,
            };
            // Ginkgo's suite-level nodes ([SynchronizedBeforeSuite] and the like) are not specs.
            (!name.starts_with("[SynchronizedBeforeSuite]")
                && !name.starts_with("[SynchronizedAfterSuite]")
                && !name.starts_with("[ReportAfterSuite]"))
            .then_some(SpecResult { name, outcome })
        })
        .collect()
}

fn attribute(head: &str, key: &str) -> Option<String> {
    let start = head
        .find(&format!(" {key}=\""))
        .or_else(|| head.starts_with(&format!("{key}=\"")).then_some(0))?;
    let value = &head[start..];
    let value = &value[value.find('"')? + 1..];
    Some(value[..value.find('"')?].to_string())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ginkgo_report_gives_each_spec_and_outcome() {
        let xml = r#"<testsuites><testsuite name="E2eNode Suite">
<testcase name="[SynchronizedBeforeSuite]" classname="E2eNode Suite" status="passed" time="1"></testcase>
<testcase name="[sig-node] Pods should be &quot;updated&quot; [NodeConformance]" classname="E2eNode Suite" status="passed" time="3"></testcase>
<testcase name="[sig-node] Probing &lt;x&gt; [NodeConformance]" classname="E2eNode Suite" status="failed" time="9"><failure message="no"></failure></testcase>
<testcase name="[sig-node] GPU [NodeConformance]" classname="E2eNode Suite" status="skipped" time="0"><skipped></skipped></testcase>
</testsuite></testsuites>"#;
        let specs = parse_junit(xml);
        let got: Vec<(&str, Outcome)> =
            specs.iter().map(|s| (s.name.as_str(), s.outcome)).collect();
        assert_eq!(
            got,
            [
                ("[sig-node] Pods should be \"updated\" [NodeConformance]", Outcome::Passed),
                ("[sig-node] Probing <x> [NodeConformance]", Outcome::Failed),
                ("[sig-node] GPU [NodeConformance]", Outcome::Skipped),
            ]
        );
    }
}
