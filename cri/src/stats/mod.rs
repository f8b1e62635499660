//! Container stats: read from cgroups by a background sampler about every second, and answered
//! from its cache, so that listing the stats of many containers costs almost nothing.

mod cgroup;
mod cgroup_detail;
mod cgroup_files;
mod metric_descriptors;
mod net_dev;
mod pod_metrics;
mod pod_rpc;
mod pressure;
mod process_counts;
mod rpc;
mod sampler;
mod writable_layer;

pub use cgroup::{slice_dir, CgroupPaths, CgroupSample};
pub(crate) use metric_descriptors::list_metric_descriptors;
pub(crate) use pod_metrics::{list_pod_sandbox_metrics, stream_pod_sandbox_metrics};
pub(crate) use pod_rpc::{list_pod_sandbox_stats, pod_sandbox_stats, stream_pod_sandbox_stats};
pub(crate) use rpc::{container_stats, list_container_stats, stream_container_stats};
pub use sampler::{spawn as spawn_sampler, StatsCache};
