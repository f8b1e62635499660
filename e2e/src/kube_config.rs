//! The command lines and configuration files of a test cluster's components.

use std::path::{Path, PathBuf};

/// Ports inside the cluster's own network namespace (nothing else listens there).
pub const ETCD_PORT: u16 = 2379;
pub const APISERVER_PORT: u16 = 6443;
pub const KUBELET_PORT: u16 = 10250;
pub const KUBELET_HEALTHZ_PORT: u16 = 10248;
/// The cluster's services (no kube-proxy runs: nothing reaches them; the API server needs
/// the range all the same).
pub const SERVICE_CIDR: &str = "10.96.0.0/16";

/// What shapes one cluster's kubelet.
#[derive(Debug, Clone, Default)]
pub struct KubeletSettings {
    pub node_name: String,
    /// The address kubelet serves on.
    pub address: String,
    pub pod_cidr: String,
    pub cri_socket: PathBuf,
    /// The cgroup (in every v1 hierarchy) that holds this kubelet's pods.
    pub cgroup_root: String,
    pub root_dir: PathBuf,
    pub pod_logs_dir: PathBuf,
    pub client_ca: PathBuf,
    /// Feature gates on top of the release's defaults.
    pub feature_gates: Vec<(String, bool)>,
    /// kubelet's image GC (a pass every 5 minutes) frees every image no container has used
    /// for a minute, rather than only when the disk fills (`imageMaximumGCAge`; a new
    /// image's minimum age keeps it for one pass more, so that alone would take 10 minutes).
    pub eager_image_gc: bool,
}

/// kubelet's configuration file.
pub fn kubelet_config(s: &KubeletSettings) -> String {
    let gates: String = s.feature_gates.iter().map(|(g, on)| format!("  {g}: {on}\n")).collect();
    // The maximum age must exceed the minimum (2 minutes unless set).
    let gc_max_age =
        if s.eager_image_gc { "imageMinimumGCAge: 30s\nimageMaximumGCAge: 1m\n" } else { "" };
    // No client CA: clients are not authenticated by certificate.
    let x509 = if s.client_ca.as_os_str().is_empty() {
        String::new()
    } else {
        format!("  x509:\n    clientCAFile: {}\n", s.client_ca.display())
    };
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://{socket}
imageServiceEndpoint: unix://{socket}
# This machine's cgroups are v1; kubelet 1.35 and later refuse them unless told not to.
failCgroupV1: false
failSwapOn: false
cgroupRoot: {cgroup_root}
podCIDR: {pod_cidr}
podLogsDir: {pod_logs}
serializeImagePulls: false
containerLogMaxSize: 1Mi
containerLogMaxFiles: 10
address: {address}
port: {port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
{x509}authorization:
  mode: Webhook
# The disks of a test machine are often fuller than the defaults allow.
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
{gc_max_age}nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 5s
resolvConf: ""
featureGates:
  PodAndContainerStatsFromCRI: true
  ContainerStopSignals: true
{gates}"#,
        socket = s.cri_socket.display(),
        cgroup_root = s.cgroup_root,
        pod_cidr = s.pod_cidr,
        pod_logs = s.pod_logs_dir.display(),
        address = s.address,
        port = KUBELET_PORT,
        healthz = KUBELET_HEALTHZ_PORT,
        x509 = x509,
    )
}

/// etcd's arguments: one member on loopback, its data in `data_dir`.
pub fn etcd_args(data_dir: &Path) -> Vec<String> {
    let client = format!("http://127.0.0.1:{ETCD_PORT}");
    let peer = format!("http://127.0.0.1:{}", ETCD_PORT + 1);
    vec![
        format!("--data-dir={}", data_dir.display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        // A test cluster's data need not outlive a power cut.
        "--unsafe-no-fsync".into(),
        "--log-level=warn".into(),
    ]
}

/// Paths the control plane's flags name.
pub struct ControlPlaneFiles<'a> {
    pub pki: &'a crate::kube_pki::Pki,
    pub apiserver_cert: &'a crate::kube_pki::ClientCert,
    pub kubelet_client: &'a crate::kube_pki::ClientCert,
    pub kubeconfig: &'a Path,
}

pub fn apiserver_args(f: &ControlPlaneFiles, node_ip: &str) -> Vec<String> {
    let pki = f.pki;
    vec![
        format!("--etcd-servers=http://127.0.0.1:{ETCD_PORT}"),
        "--bind-address=127.0.0.1".into(),
        format!("--advertise-address={node_ip}"),
        format!("--secure-port={APISERVER_PORT}"),
        format!("--tls-cert-file={}", f.apiserver_cert.cert.display()),
        format!("--tls-private-key-file={}", f.apiserver_cert.key.display()),
        format!("--client-ca-file={}", pki.ca_cert.display()),
        format!("--kubelet-client-certificate={}", f.kubelet_client.cert.display()),
        format!("--kubelet-client-key={}", f.kubelet_client.key.display()),
        // The node's name resolves nowhere; its address is in its status.
        "--kubelet-preferred-address-types=InternalIP".into(),
        format!("--service-account-key-file={}", pki.service_account_pub.display()),
        format!("--service-account-signing-key-file={}", pki.service_account_key.display()),
        "--service-account-issuer=https://kubernetes.default.svc".into(),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        "--authorization-mode=Node,RBAC".into(),
        "--enable-admission-plugins=NodeRestriction".into(),
        "--allow-privileged=true".into(),
        // Containers' own stop signals (alpha, off by default in 1.37).
        "--feature-gates=ContainerStopSignals=true".into(),
        format!("--cert-dir={}", pki.dir.display()),
        "--v=1".into(),
    ]
}

pub fn controller_manager_args(f: &ControlPlaneFiles, pod_cidr: &str) -> Vec<String> {
    let pki = f.pki;
    vec![
        format!("--kubeconfig={}", f.kubeconfig.display()),
        "--bind-address=127.0.0.1".into(),
        "--leader-elect=false".into(),
        format!("--service-account-private-key-file={}", pki.service_account_key.display()),
        format!("--root-ca-file={}", pki.ca_cert.display()),
        format!("--cluster-signing-cert-file={}", pki.ca_cert.display()),
        format!("--cluster-signing-key-file={}", pki.ca_key.display()),
        "--allocate-node-cidrs=true".into(),
        format!("--cluster-cidr={pod_cidr}"),
        format!("--node-cidr-mask-size={}", pod_cidr.rsplit('/').next().unwrap_or("24")),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        "--use-service-account-credentials=true".into(),
        "--v=1".into(),
    ]
}

pub fn scheduler_args(kubeconfig: &Path) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        "--bind-address=127.0.0.1".into(),
        "--leader-elect=false".into(),
        "--v=1".into(),
    ]
}
