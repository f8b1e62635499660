//! ListMetricDescriptors: the metrics ListPodSandboxMetrics returns, under cAdvisor's names, so
//! that kubelet's `/metrics/cadvisor` serves the series dashboards already query.
//!
//! Every series carries the base labels (the container's name, "POD" for the pod's own series,
//! its ID, image, and the pod's namespace and name, as kubelet labels cAdvisor's series),
//! then the descriptor's own. Values are whole numbers (the CRI's `UInt64Value`), so seconds
//! are whole seconds.

use crate::api::v1::{ListMetricDescriptorsResponse, MetricDescriptor, MetricType};

pub const BASE_LABELS: [&str; 5] = ["container", "id", "image", "namespace", "pod"];

#[derive(Debug)]
pub struct Descriptor {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    /// Label keys after the base ones.
    pub extra: &'static [&'static str],
}

/// Defines a constant per descriptor and the list of them.
macro_rules! descriptors {
    ($list:ident { $($id:ident = $name:literal $kind:ident [$($extra:literal),*] $help:literal;)* }) => {
        $(pub const $id: Descriptor = Descriptor { name: $name, help: $help, kind: MetricType::$kind, extra: &[$($extra),*] };)*
        pub const $list: &[Descriptor] = &[$($id),*];
    };
}

descriptors!(CONTAINER_METRICS {
    CPU_USAGE = "container_cpu_usage_seconds_total" Counter ["cpu"] "Cumulative CPU time consumed, in seconds.";
    CPU_USER = "container_cpu_user_seconds_total" Counter [] "Cumulative user CPU time consumed, in seconds.";
    CPU_SYSTEM = "container_cpu_system_seconds_total" Counter [] "Cumulative system CPU time consumed, in seconds.";
    CFS_PERIODS = "container_cpu_cfs_periods_total" Counter [] "Number of elapsed CFS enforcement periods.";
    CFS_THROTTLED_PERIODS = "container_cpu_cfs_throttled_periods_total" Counter [] "Number of CFS periods in which the container was throttled.";
    CFS_THROTTLED_SECONDS = "container_cpu_cfs_throttled_seconds_total" Counter [] "Total time the container was throttled, in seconds.";
    MEMORY_USAGE = "container_memory_usage_bytes" Gauge [] "Current memory usage in bytes, including all memory regardless of when it was accessed.";
    MEMORY_MAX_USAGE = "container_memory_max_usage_bytes" Gauge [] "Maximum memory usage recorded, in bytes.";
    MEMORY_WORKING_SET = "container_memory_working_set_bytes" Gauge [] "Current working set (usage minus inactive file), in bytes.";
    MEMORY_RSS = "container_memory_rss" Gauge [] "Size of RSS, in bytes.";
    MEMORY_CACHE = "container_memory_cache" Gauge [] "Page cache memory, in bytes.";
    MEMORY_MAPPED_FILE = "container_memory_mapped_file" Gauge [] "Size of memory mapped files, in bytes.";
    MEMORY_SWAP = "container_memory_swap" Gauge [] "Swap usage, in bytes.";
    MEMORY_KERNEL_USAGE = "container_memory_kernel_usage" Gauge [] "Kernel memory charged to the container, in bytes.";
    MEMORY_FAILCNT = "container_memory_failcnt" Counter [] "Number of times memory usage hit the limit.";
    MEMORY_FAILURES = "container_memory_failures_total" Counter ["failure_type", "scope"] "Cumulative count of memory allocation failures (page faults).";
    OOM_EVENTS = "container_oom_events_total" Counter [] "Count of out-of-memory kills in the container.";
    PRESSURE_CPU_WAITING = "container_pressure_cpu_waiting_seconds_total" Counter [] "Time at least one task of the container waited for CPU, in seconds (cgroup v2 PSI).";
    PRESSURE_CPU_STALLED = "container_pressure_cpu_stalled_seconds_total" Counter [] "Time all tasks of the container waited for CPU, in seconds (cgroup v2 PSI).";
    PRESSURE_MEMORY_WAITING = "container_pressure_memory_waiting_seconds_total" Counter [] "Time at least one task of the container waited for memory, in seconds (cgroup v2 PSI).";
    PRESSURE_MEMORY_STALLED = "container_pressure_memory_stalled_seconds_total" Counter [] "Time all tasks of the container waited for memory, in seconds (cgroup v2 PSI).";
    PRESSURE_IO_WAITING = "container_pressure_io_waiting_seconds_total" Counter [] "Time at least one task of the container waited for I/O, in seconds (cgroup v2 PSI).";
    PRESSURE_IO_STALLED = "container_pressure_io_stalled_seconds_total" Counter [] "Time all tasks of the container waited for I/O, in seconds (cgroup v2 PSI).";
    PROCESSES = "container_processes" Gauge [] "Number of processes running in the container.";
    THREADS = "container_threads" Gauge [] "Number of threads running in the container.";
    THREADS_MAX = "container_threads_max" Gauge [] "Maximum number of threads allowed in the container; 0 for no limit.";
    FILE_DESCRIPTORS = "container_file_descriptors" Gauge [] "Number of open file descriptors of the container's processes.";
    SOCKETS = "container_sockets" Gauge [] "Number of open sockets of the container's processes.";
    ULIMITS_SOFT = "container_ulimits_soft" Gauge ["ulimit"] "Soft ulimit of the container's init process.";
    SPEC_CPU_PERIOD = "container_spec_cpu_period" Gauge [] "CPU CFS period of the container, in microseconds.";
    SPEC_CPU_SHARES = "container_spec_cpu_shares" Gauge [] "CPU shares of the container.";
    SPEC_MEMORY_LIMIT = "container_spec_memory_limit_bytes" Gauge [] "Memory limit of the container, in bytes; 0 for none.";
    SPEC_MEMORY_RESERVATION = "container_spec_memory_reservation_limit_bytes" Gauge [] "Memory reservation (soft limit) of the container, in bytes; 0 for none.";
    SPEC_MEMORY_SWAP_LIMIT = "container_spec_memory_swap_limit_bytes" Gauge [] "Memory plus swap limit of the container, in bytes; 0 for none.";
    START_TIME = "container_start_time_seconds" Gauge [] "Start time of the container since the Unix epoch, in seconds.";
    LAST_SEEN = "container_last_seen" Gauge [] "Last time the container was seen by the runtime, since the Unix epoch, in seconds.";
    FS_USAGE = "container_fs_usage_bytes" Gauge ["device"] "Bytes used by the container's writable layer on its file system.";
    FS_LIMIT = "container_fs_limit_bytes" Gauge ["device"] "Size of the file system of the container's writable layer, in bytes.";
    FS_INODES_TOTAL = "container_fs_inodes_total" Gauge ["device"] "Number of inodes of the file system of the container's writable layer.";
    FS_INODES_FREE = "container_fs_inodes_free" Gauge ["device"] "Number of free inodes of the file system of the container's writable layer.";
    FS_READS_BYTES = "container_fs_reads_bytes_total" Counter ["device"] "Cumulative count of bytes read.";
    FS_READS = "container_fs_reads_total" Counter ["device"] "Cumulative count of reads completed.";
    FS_WRITES_BYTES = "container_fs_writes_bytes_total" Counter ["device"] "Cumulative count of bytes written.";
    FS_WRITES = "container_fs_writes_total" Counter ["device"] "Cumulative count of writes completed.";
    BLKIO_DEVICE_USAGE = "container_blkio_device_usage_total" Counter ["device", "major", "minor", "operation"] "Block I/O bytes by device and operation.";
});

descriptors!(POD_METRICS {
    NET_RX_BYTES = "container_network_receive_bytes_total" Counter ["interface"] "Cumulative count of bytes received.";
    NET_RX_PACKETS = "container_network_receive_packets_total" Counter ["interface"] "Cumulative count of packets received.";
    NET_RX_DROPPED = "container_network_receive_packets_dropped_total" Counter ["interface"] "Cumulative count of packets dropped while receiving.";
    NET_RX_ERRORS = "container_network_receive_errors_total" Counter ["interface"] "Cumulative count of errors encountered while receiving.";
    NET_TX_BYTES = "container_network_transmit_bytes_total" Counter ["interface"] "Cumulative count of bytes transmitted.";
    NET_TX_PACKETS = "container_network_transmit_packets_total" Counter ["interface"] "Cumulative count of packets transmitted.";
    NET_TX_DROPPED = "container_network_transmit_packets_dropped_total" Counter ["interface"] "Cumulative count of packets dropped while transmitting.";
    NET_TX_ERRORS = "container_network_transmit_errors_total" Counter ["interface"] "Cumulative count of errors encountered while transmitting.";
});

fn to_cri(d: &Descriptor) -> MetricDescriptor {
    let label_keys = BASE_LABELS.iter().chain(d.extra).map(|k| k.to_string()).collect();
    MetricDescriptor { name: d.name.into(), help: d.help.into(), label_keys }
}

pub(crate) fn list_metric_descriptors() -> ListMetricDescriptorsResponse {
    ListMetricDescriptorsResponse {
        descriptors: CONTAINER_METRICS.iter().chain(POD_METRICS).map(to_cri).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_descriptor_has_help_and_labels() {
        let all = list_metric_descriptors().descriptors;
        let mut names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.iter().all(|d| !d.help.is_empty() && d.label_keys.len() >= BASE_LABELS.len()));
    }
}
