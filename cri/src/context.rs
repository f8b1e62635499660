//! What every CRI service shares: the configuration, the containerd handle and its health,
//! the stores, and the puller.

use std::sync::{Arc, RwLock};

use crate::api::v1::FilesystemUsage;
use containerd_bridge::pull::{normalize, tag_name, HostConfig, PullSettings, Puller};
use containerd_bridge::Containerd;
use tokio::sync::watch;

use crate::adapters::containerd_lifecycle::Lifecycle;
use crate::adapters::containerd_monitor::Readiness;
use crate::adapters::namespace_pins::{LinuxPinner, NamespacePinner};
use crate::adapters::pod_network::PodNetwork;
use crate::config::Config;
use crate::cri_events::ContainerEvents;
use crate::locks::RwLockExt;
use crate::singleflight::SingleFlight;
use crate::store::containers::ContainerStore;
use crate::store::images::ImageStore;
use crate::store::sandboxes::SandboxStore;

pub struct Context {
    pub config: Arc<Config>,
    /// containerd's images, content, events and health.
    pub containerd: Containerd,
    /// containerd's containers, snapshots, leases, tasks and exec processes.
    pub lifecycle: Arc<dyn Lifecycle>,
    pub containerd_readiness: watch::Receiver<Readiness>,
    pub puller: Puller,
    pub images: ImageStore,
    /// The pod network from the CNI conf dir, reloaded when the directory changes.
    pub networks: cni::NetworkConfigs,
    /// Whether pods may have their own user namespace here.
    pub user_namespaces: crate::runtime::user_namespaces::UserNamespaceSupport,
    /// The node's CDI device specs.
    pub cdi: Arc<crate::cdi::Registry>,
    pub cni: Arc<dyn PodNetwork>,
    pub namespaces: Arc<dyn NamespacePinner>,
    pub sandboxes: SandboxStore,
    pub containers: ContainerStore,
    pub container_events: ContainerEvents,
    /// The latest cgroup readings of running containers.
    pub stats: crate::stats::StatsCache,
    /// Exec, attach and port-forward requests waiting for their client.
    pub streams: crate::streaming::PendingStreams,
    /// AppArmor and SELinux, as the node has them.
    pub lsm: crate::spec::lsm::NodeLsm,
    /// Whether runc can set hugepage limits (a hugetlb controller in the cgroup mode it uses).
    pub hugetlb: bool,
    /// cricket's own metrics (calls, pod starts, CNI, pulls, the sampler).
    pub metrics: Arc<crate::daemon_metrics::Metrics>,
    /// The node's pod CIDRs, from UpdateRuntimeConfig.
    pub pod_cidrs: RwLock<Vec<String>>,
    /// Image pulls in flight, by reference and credentials.
    pub pulls: SingleFlight<String>,
    /// containerd objects a rollback could not remove yet.
    pub janitor: crate::janitor::Janitor,
    /// Task creates and deletes of pods without a pause, which share a shim, take turns.
    pub shim_turns: crate::shim_turns::ShimTurns,
    /// Whether the first recovery has loaded the stores from containerd.
    pub recovered: watch::Sender<bool>,
    fs_usage: RwLock<Option<FilesystemUsage>>,
}

/// Where the pod and container lifecycle meets the world: real on a node, fakes in unit tests.
pub struct Adapters {
    pub lifecycle: Arc<dyn Lifecycle>,
    pub cni: Arc<dyn PodNetwork>,
    pub namespaces: Arc<dyn NamespacePinner>,
}

impl Adapters {
    /// containerd itself, the CNI plugins of the config, namespaces pinned under the state dir.
    pub fn real(config: &Config, containerd: &Containerd) -> Adapters {
        Adapters {
            lifecycle: Arc::new(containerd.clone()),
            cni: Arc::new(cni::CniRuntime::new(
                config.cni.bin_dirs.clone(),
                config.root_dir.join("cni"),
                config.cni.plugin_timeout,
            )),
            namespaces: Arc::new(LinuxPinner::new(&config.state_dir)),
        }
    }
}

impl Context {
    pub fn new(
        config: Arc<Config>,
        containerd: Containerd,
        readiness: watch::Receiver<Readiness>,
    ) -> Context {
        let adapters = Adapters::real(&config, &containerd);
        Context::with_adapters(config, containerd, readiness, adapters)
    }

    pub fn with_adapters(
        config: Arc<Config>,
        containerd: Containerd,
        readiness: watch::Receiver<Readiness>,
        adapters: Adapters,
    ) -> Context {
        let hosts = config
            .images
            .registries
            .iter()
            .map(|(host, r)| {
                (host.clone(), HostConfig { insecure: r.insecure, mirrors: r.mirrors.clone() })
            })
            .collect();
        let settings = PullSettings {
            hosts,
            max_concurrent_downloads: config.images.max_concurrent_downloads as usize,
            progress_timeout: config.images.image_pull_progress_timeout,
        };
        let networks = cni::NetworkConfigs::new(config.cni.conf_dir.clone());
        let pod_cidrs = crate::runtime::load_pod_cidrs(&config.root_dir);
        let cdi = Arc::new(crate::cdi::Registry::new(config.cdi.spec_dirs.clone()));
        Context {
            puller: Puller::new(containerd.clone(), settings),
            config,
            containerd,
            lifecycle: adapters.lifecycle,
            containerd_readiness: readiness,
            images: ImageStore::default(),
            networks,
            cdi,
            user_namespaces: Default::default(),
            cni: adapters.cni,
            namespaces: adapters.namespaces,
            sandboxes: SandboxStore::default(),
            containers: ContainerStore::default(),
            container_events: ContainerEvents::default(),
            streams: Default::default(),
            stats: Default::default(),
            lsm: crate::spec::lsm::NodeLsm::detect(),
            hugetlb: crate::spec::hugetlb_controller_present(),
            pulls: SingleFlight::default(),
            metrics: Default::default(),
            pod_cidrs: RwLock::new(pod_cidrs),
            recovered: watch::Sender::new(false),
            janitor: Default::default(),
            shim_turns: Default::default(),
            fs_usage: RwLock::new(None),
        }
    }

    pub fn runtime_readiness(&self) -> Readiness {
        self.containerd_readiness.borrow().clone()
    }

    /// The image record name of the sandbox image (configured or built-in).
    pub fn sandbox_image_name(&self) -> Option<String> {
        let configured = &self.config.images.sandbox_image;
        if configured.is_empty() {
            return Some(crate::pause_image::image_name());
        }
        normalize(configured).ok().and_then(|r| tag_name(&r).or_else(|| Some(r.to_string())))
    }

    /// Whether the image record `name` is the sandbox image, which kubelet must never remove.
    pub fn is_sandbox_image(&self, name: &str) -> bool {
        self.sandbox_image_name().is_some_and(|s| s == name)
    }

    pub fn fs_usage(&self) -> Option<FilesystemUsage> {
        self.fs_usage.reading().clone()
    }

    pub fn set_fs_usage(&self, usage: FilesystemUsage) {
        *self.fs_usage.writing() = Some(usage);
    }
}
