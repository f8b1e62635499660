//! A node for benches that compare cricket with containerd's own CRI plugin on the same
//! machine: cricket's node (its containerd, a registry, a CNI config) and beside it containerd
//! with its CRI plugin on its own subnet, the busybox image pushed and pulled by both.

use crate::containerd_cri::ContainerdCri;
use crate::cri_client::CriClient;
use crate::{Node, NodeOptions};

pub struct SideBySide {
    pub node: Node,
    /// containerd with its CRI plugin; dropped before the node finishes.
    pub theirs: ContainerdCri,
    pub cricket: CriClient,
    pub containerd: CriClient,
    /// The busybox image, pulled by both.
    pub image: String,
}

impl SideBySide {
    /// Starts both; containerd's pods get a /24 of `subnet_prefix` (`"10.196"`) of this
    /// workspace's own.
    pub async fn start(options: NodeOptions, subnet_prefix: &str) -> SideBySide {
        let node = Node::start(NodeOptions { registry: true, ..options });
        node.write_cni_config();
        node.wait_ready().await;
        let image =
            node.registry().push(&crate::test_images::busybox_image(), "bench/busybox", "1");
        let pause = node.registry().push(&cricket::pause_image::build(), "bench/pause", "1");
        let registry = image.split('/').next().unwrap_or_default().to_string();
        let n = u32::from_str_radix(&node.ws.id, 16).unwrap_or(0);
        let subnet = format!("{subnet_prefix}.{}.0/24", n % 256);
        let theirs = ContainerdCri::start(&node.ws, &registry, &pause, &subnet);
        let mut containerd = CriClient::connect(&theirs.address).await.expect("containerd's CRI");
        let mut cricket = node.client().await;
        cricket.pull(&image, None).await.expect("cricket pulls");
        if let Err(e) = containerd.pull(&image, None).await {
            let log = std::fs::read_to_string(node.ws.run("ctd-cri.log")).unwrap_or_default();
            let bad = |l: &&str| l.contains("level=error") || l.contains("level=warn");
            let tail: Vec<&str> = log.lines().filter(bad).collect();
            panic!("containerd's CRI cannot pull: {e}\n{}", tail.join("\n"));
        }
        SideBySide { node, theirs, cricket, containerd, image }
    }

    /// A bench's whole run: cricket's release build, a runtime of two workers (this machine's
    /// cores), both started, then `bench` with them.
    pub fn bench<F: std::future::Future<Output = ()>>(
        options: NodeOptions,
        subnet_prefix: &str,
        bench: impl FnOnce(SideBySide) -> F,
    ) {
        std::env::set_var("CRICKET_BIN", crate::workspace::cricket_release_binary());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(async { bench(SideBySide::start(options, subnet_prefix).await).await });
    }

    /// Stops containerd's CRI, then checks and tears down the node.
    pub fn finish(self) {
        drop(self.theirs);
        self.node.finish();
    }
}
