//! The end-to-end harness: real containerd, registry and cricket processes on private paths
//! and free ports, so that tests run side by side without colliding, and a teardown that
//! proves nothing was left behind.

pub mod backend;
pub mod bench_log;
pub mod cluster;
pub mod cluster_ops;
pub mod containerd;
pub mod containerd_cri;
pub mod cri_client;
pub mod cricket;
pub mod critest_images;
pub mod go_build;
pub mod grpc_go;
pub mod image_builder;
pub mod kube;
pub mod kube_cgroups;
pub mod kube_config;
pub mod kube_pki;
pub mod kubelet_fixed_dir;
pub mod kubelet_unit;
pub mod leaks;
pub mod node;
pub mod node_conformance;
pub mod node_e2e_images;
pub mod percentile;
pub mod pods;
pub mod proc_usage;
pub mod process;
pub mod prometheus_text;
pub mod raw_h2;
pub mod registry;
pub mod side_by_side;
pub mod spdy_client;
pub mod spdy_go;
pub mod test_images;
pub mod throttle;
pub mod websocket_client;
pub mod workload;
pub mod workspace;

pub use node::{Node, NodeOptions};

/// Polls `check` every 50 ms until it yields a value or `limit` passes.
pub async fn eventually<T, F, Fut>(limit: std::time::Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
