//! Fakes of the world at the lifecycle's edges (containerd, CNI, namespace pins) and a
//! `Context` over them, so RPC logic is unit-tested without root, containerd or plugins.
//! Every fake writes what it was asked into one shared `Journal`, whose order tests assert.

mod fake_containerd;
mod fake_network;
mod fake_pins;

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::api::v1::{
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption,
    PodSandboxConfig, PodSandboxMetadata, RunPodSandboxRequest,
};
use containerd_bridge::{Containerd, ContainerdConfig, ImageDetails};
use tokio::sync::watch;

use crate::adapters::containerd_monitor::Readiness;
use crate::config::Config;
use crate::context::{Adapters, Context};
use crate::locks::MutexExt;

pub use fake_containerd::FakeContainerd;
pub use fake_network::FakeNetwork;
pub use fake_pins::FakePins;

/// The calls the fakes received, in order, as `"<edge> <call> <id>"`.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn push(&self, entry: String) {
        self.0.locked().push(entry);
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.locked().clone()
    }

    /// The entries starting with `prefix`.
    pub fn starting(&self, prefix: &str) -> Vec<String> {
        self.entries().into_iter().filter(|e| e.starts_with(prefix)).collect()
    }

    /// Where the first entry starting with `prefix` is; panics naming it when none is.
    pub fn position(&self, prefix: &str) -> usize {
        let entries = self.entries();
        entries
            .iter()
            .position(|e| e.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in the journal {entries:#?}"))
    }
}

/// A context over fakes, with its directories in a temporary one and the built-in pause image
/// in its image store; the CNI conf dir holds one bridge network.
pub struct TestNode {
    pub ctx: Arc<Context>,
    pub journal: Journal,
    pub containerd: Arc<FakeContainerd>,
    pub network: Arc<FakeNetwork>,
    pub pins: Arc<FakePins>,
    /// Held: the directories go with the node.
    _dir: tempfile::TempDir,
}

impl TestNode {
    pub fn new() -> TestNode {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config {
            root_dir: dir.path().join("root"),
            state_dir: dir.path().join("state"),
            ..Config::default()
        };
        config.cni.conf_dir = dir.path().join("net.d");
        config.containerd.address = dir.path().join("no-containerd.sock");
        write_network(&config.cni.conf_dir);
        let journal = Journal::default();
        let containerd = Arc::new(FakeContainerd::new(journal.clone()));
        let network = Arc::new(FakeNetwork::new(journal.clone()));
        let pins = Arc::new(FakePins::new(journal.clone(), dir.path().join("pins")));
        let adapters = Adapters {
            lifecycle: containerd.clone(),
            cni: network.clone(),
            namespaces: pins.clone(),
        };
        let ctx = Arc::new(context(config, adapters));
        TestNode { ctx, journal, containerd, network, pins, _dir: dir }
    }

    /// A new context over the same fakes and directories, with `config`.
    pub fn with_config(self, config: Config) -> TestNode {
        let adapters = Adapters {
            lifecycle: self.containerd.clone(),
            cni: self.network.clone(),
            namespaces: self.pins.clone(),
        };
        TestNode { ctx: Arc::new(context(config, adapters)), ..self }
    }

    /// RunPodSandbox as the gRPC service runs it: on a task of its own.
    pub async fn run_pod(&self, config: PodSandboxConfig) -> Result<String, crate::error::Error> {
        self.run_pod_on("", config).await
    }

    /// RunPodSandbox with the runtime handler `handler`.
    pub async fn run_pod_on(
        &self,
        handler: &str,
        config: PodSandboxConfig,
    ) -> Result<String, crate::error::Error> {
        let ctx = self.ctx.clone();
        let req = RunPodSandboxRequest { config: Some(config), runtime_handler: handler.into() };
        crate::detached::run(move |gone| async move {
            crate::sandbox::run_pod_sandbox(&ctx, req, gone).await
        })
        .await
        .map(|r| r.pod_sandbox_id)
    }

    /// cricket restarted: empty stores over the same containerd, CNI, pins and files.
    pub fn restart(self) -> TestNode {
        let config = (*self.ctx.config).clone();
        self.with_config(config)
    }
}

fn context(config: Config, adapters: Adapters) -> Context {
    // Never dialled: images, events and health are not what these tests are about.
    let unused = Containerd::new(ContainerdConfig {
        address: config.containerd.address.clone(),
        namespace: config.containerd.namespace.clone(),
        snapshotter: config.containerd.snapshotter.clone(),
    })
    .expect("a lazy containerd handle");
    let (_, readiness) = watch::channel(Readiness::ready());
    let ctx = Context::with_adapters(Arc::new(config), unused, readiness, adapters);
    add_pause_image(&ctx);
    ctx
}

/// A container config named `name` on the built-in pause image.
pub fn container_config(name: &str) -> crate::api::v1::ContainerConfig {
    crate::api::v1::ContainerConfig {
        metadata: Some(crate::api::v1::ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(crate::api::v1::ImageSpec {
            image: crate::pause_image::image_name(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pod on its own network, a PID namespace per container (no pause needed), and the node's
/// IPC namespace, so no /dev/shm is mounted (that needs root).
pub fn pod_config(name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            namespace: "default".into(),
            uid: format!("uid-{name}"),
            attempt: 0,
        }),
        linux: Some(LinuxPodSandboxConfig {
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    ipc: NamespaceMode::Node as i32,
                    pid: NamespaceMode::Container as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn write_network(conf_dir: &Path) {
    std::fs::create_dir_all(conf_dir).expect("the conf dir");
    let conflist = r#"{"cniVersion": "1.0.0", "name": "testnet",
        "plugins": [{"type": "bridge", "bridge": "cni-test0", "ipMasq": false}]}"#;
    std::fs::write(conf_dir.join("10-test.conflist"), conflist).expect("a conflist");
}

fn add_pause_image(ctx: &Context) {
    let image = crate::pause_image::build();
    let details = ImageDetails {
        manifest_digest: image.manifest.digest.clone(),
        config_digest: image.config.digest.clone(),
        config: image.config.data.clone(),
        size: 1,
        layers: vec![],
    };
    ctx.images.add_record(&crate::pause_image::image_name(), &details, true);
}
