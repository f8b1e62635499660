//! ListPodSandboxMetrics: per pod, its network series; per running container, its CPU,
//! memory, process, limit, file system and block I/O series. CPU and memory usage come from
//! the sampler's cache (stamped with its reading's time); the rest is read now (kubelet asks
//! at its scrape interval, not every second).

use crate::api::v1::{
    ContainerMetrics, ListPodSandboxMetricsResponse, Metric, PodSandboxMetrics,
    StreamPodSandboxMetricsResponse, UInt64Value,
};

use super::cgroup_detail::{CgroupDetail, DeviceIo};
use super::metric_descriptors::{self as d, Descriptor, BASE_LABELS};
use super::net_dev::{self, InterfaceCounters};
use super::pressure::Pressure;
use super::process_counts;
use super::sampler::ContainerSample;
use crate::context::Context;
use crate::store::containers::Container;
use crate::store::sandboxes::Sandbox;

const NS_PER_SECOND: u64 = 1_000_000_000;

/// The series of one container or pod, all with the same base label values.
struct Series {
    base: [String; BASE_LABELS.len()],
    at_ns: i64,
    out: Vec<Metric>,
}

impl Series {
    fn new(base: [String; BASE_LABELS.len()], at_ns: i64) -> Series {
        Series { base, at_ns, out: Vec::new() }
    }

    fn put(&mut self, d: &Descriptor, extra: &[&str], value: u64) {
        debug_assert_eq!(d.extra.len(), extra.len(), "{}", d.name);
        let label_values =
            self.base.iter().cloned().chain(extra.iter().map(|v| v.to_string())).collect();
        self.out.push(Metric {
            name: d.name.into(),
            timestamp: self.at_ns,
            metric_type: d.kind as i32,
            label_values,
            value: Some(UInt64Value { value }),
        });
    }
}

fn sampled(s: &mut Series, sample: &ContainerSample) {
    let g = &sample.cgroup;
    s.put(&d::CPU_USAGE, &["total"], g.cpu_usage_ns / NS_PER_SECOND);
    s.put(&d::MEMORY_USAGE, &[], g.memory_usage);
    s.put(&d::MEMORY_WORKING_SET, &[], g.working_set);
    s.put(&d::MEMORY_RSS, &[], g.rss);
    s.put(&d::MEMORY_SWAP, &[], g.swap_usage.unwrap_or(0));
    s.put(&d::PROCESSES, &[], g.pids.unwrap_or(0));
    pressure(s, &g.pressure);
}

/// PSI series where the cgroup has them (v2): waiting is the `some` line, stalled `full`.
fn pressure(s: &mut Series, p: &Pressure) {
    let resources = [
        (p.cpu, &d::PRESSURE_CPU_WAITING, &d::PRESSURE_CPU_STALLED),
        (p.memory, &d::PRESSURE_MEMORY_WAITING, &d::PRESSURE_MEMORY_STALLED),
        (p.io, &d::PRESSURE_IO_WAITING, &d::PRESSURE_IO_STALLED),
    ];
    for (psi, waiting, stalled) in resources {
        let Some(psi) = psi else { continue };
        s.put(waiting, &[], psi.some.total_us / 1_000_000);
        if let Some(full) = psi.full {
            s.put(stalled, &[], full.total_us / 1_000_000);
        }
    }
}

fn detail(s: &mut Series, g: &CgroupDetail) {
    s.put(&d::CPU_USER, &[], g.cpu_user_ns / NS_PER_SECOND);
    s.put(&d::CPU_SYSTEM, &[], g.cpu_system_ns / NS_PER_SECOND);
    s.put(&d::CFS_PERIODS, &[], g.cfs_periods);
    s.put(&d::CFS_THROTTLED_PERIODS, &[], g.cfs_throttled_periods);
    s.put(&d::CFS_THROTTLED_SECONDS, &[], g.cfs_throttled_ns / NS_PER_SECOND);
    s.put(&d::MEMORY_KERNEL_USAGE, &[], g.kernel_memory);
    s.put(&d::MEMORY_MAX_USAGE, &[], g.max_usage);
    s.put(&d::MEMORY_CACHE, &[], g.cache);
    s.put(&d::MEMORY_MAPPED_FILE, &[], g.mapped_file);
    s.put(&d::MEMORY_FAILCNT, &[], g.failcnt);
    for (kind, (container, hierarchy)) in [("pgfault", g.pgfault), ("pgmajfault", g.pgmajfault)] {
        s.put(&d::MEMORY_FAILURES, &[kind, "container"], container);
        s.put(&d::MEMORY_FAILURES, &[kind, "hierarchy"], hierarchy);
    }
    s.put(&d::OOM_EVENTS, &[], g.oom_kills);
    s.put(&d::THREADS, &[], g.threads);
    s.put(&d::THREADS_MAX, &[], g.threads_max);
    s.put(&d::SPEC_CPU_PERIOD, &[], g.cpu_period_us);
    s.put(&d::SPEC_CPU_SHARES, &[], g.cpu_shares);
    s.put(&d::SPEC_MEMORY_LIMIT, &[], g.memory_limit);
    s.put(&d::SPEC_MEMORY_RESERVATION, &[], g.memory_reservation);
    s.put(&d::SPEC_MEMORY_SWAP_LIMIT, &[], g.swap_limit);
}

/// `/dev/<name>` of a block device, from sysfs.
fn device_name(major: u32, minor: u32) -> String {
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent"))
        .unwrap_or_default();
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(|n| format!("/dev/{n}"))
        .unwrap_or_default()
}

/// Block I/O per device. A container that did none (or a node whose kernel does not account
/// it per cgroup, as this project's test machine) gets one zero series without a device, so
/// that every described metric is present.
fn block_io(s: &mut Series, io: &[DeviceIo]) {
    if io.is_empty() {
        return device_io(s, ["", "", ""], &DeviceIo::default());
    }
    for i in io {
        device_io(
            s,
            [&device_name(i.major, i.minor), &i.major.to_string(), &i.minor.to_string()],
            i,
        );
    }
}

/// One device's series: `[device, major, minor]` labels.
fn device_io(s: &mut Series, [dev, major, minor]: [&str; 3], i: &DeviceIo) {
    s.put(&d::FS_READS_BYTES, &[dev], i.read_bytes);
    s.put(&d::FS_READS, &[dev], i.reads);
    s.put(&d::FS_WRITES_BYTES, &[dev], i.write_bytes);
    s.put(&d::FS_WRITES, &[dev], i.writes);
    s.put(&d::BLKIO_DEVICE_USAGE, &[dev, major, minor, "Read"], i.read_bytes);
    s.put(&d::BLKIO_DEVICE_USAGE, &[dev, major, minor, "Write"], i.write_bytes);
}

fn processes(s: &mut Series, pids: &[u32], init_pid: u32) {
    let counts = process_counts::count(pids);
    s.put(&d::FILE_DESCRIPTORS, &[], counts.fds);
    s.put(&d::SOCKETS, &[], counts.sockets);
    let limits = std::fs::read_to_string(format!("/proc/{init_pid}/limits")).unwrap_or_default();
    // Unlimited is -1 in cAdvisor; as an unsigned value, the largest.
    s.put(
        &d::ULIMITS_SOFT,
        &["max_open_files"],
        process_counts::soft_open_files(&limits).unwrap_or(u64::MAX),
    );
}

fn container_metrics(
    ctx: &Context,
    pod: &Sandbox,
    c: &Container,
    sample: &ContainerSample,
) -> ContainerMetrics {
    let base = [
        c.meta.name.clone(),
        c.meta.id.clone(),
        c.meta.image_ref.clone(),
        pod.meta.namespace.clone(),
        pod.meta.name.clone(),
    ];
    let now = crate::sys::clock::now_ns();
    let mut s = Series::new(base, sample.at_ns);
    sampled(&mut s, sample);
    s.at_ns = now;
    let paths = ctx.stats.paths(&c.meta.id);
    let detail_now = paths.as_ref().and_then(|p| p.read_detail().ok()).unwrap_or_default();
    detail(&mut s, &detail_now);
    block_io(&mut s, &detail_now.io);
    processes(&mut s, &paths.map(|p| p.procs()).unwrap_or_default(), c.status.pid);
    s.put(&d::START_TIME, &[], u64::try_from(c.status.started_at_ns).unwrap_or(0) / NS_PER_SECOND);
    s.put(&d::LAST_SEEN, &[], u64::try_from(sample.at_ns).unwrap_or(0) / NS_PER_SECOND);
    let layer = ctx.stats.layer(&c.meta.id);
    let fs_device = ctx.fs_usage().and_then(|u| u.fs_id).map(|f| f.mountpoint).unwrap_or_default();
    s.at_ns = layer.map(|l| l.at_ns).unwrap_or(now);
    s.put(&d::FS_USAGE, &[&fs_device], layer.map(|l| l.usage.bytes).unwrap_or(0));
    s.at_ns = now;
    file_system(
        &mut s,
        &fs_device,
        crate::sys::mount::capacity(std::path::Path::new(&fs_device)).unwrap_or_default(),
    );
    ContainerMetrics { container_id: c.meta.id.clone(), metrics: s.out }
}

/// The size of the file system of the writable layer (`device` is its mount point).
fn file_system(s: &mut Series, device: &str, c: crate::sys::mount::Capacity) {
    s.put(&d::FS_LIMIT, &[device], c.bytes);
    s.put(&d::FS_INODES_TOTAL, &[device], c.inodes);
    s.put(&d::FS_INODES_FREE, &[device], c.inodes_free);
}

fn network(s: &mut Series, interfaces: &[InterfaceCounters]) {
    for i in interfaces {
        let name = [i.name.as_str()];
        s.put(&d::NET_RX_BYTES, &name, i.rx_bytes);
        s.put(&d::NET_RX_PACKETS, &name, i.rx_packets);
        s.put(&d::NET_RX_DROPPED, &name, i.rx_dropped);
        s.put(&d::NET_RX_ERRORS, &name, i.rx_errors);
        s.put(&d::NET_TX_BYTES, &name, i.tx_bytes);
        s.put(&d::NET_TX_PACKETS, &name, i.tx_packets);
        s.put(&d::NET_TX_DROPPED, &name, i.tx_dropped);
        s.put(&d::NET_TX_ERRORS, &name, i.tx_errors);
    }
}

fn pod_metrics(ctx: &Context, pod: &Sandbox) -> PodSandboxMetrics {
    let base = [
        "POD".to_string(),
        pod.meta.id.clone(),
        String::new(),
        pod.meta.namespace.clone(),
        pod.meta.name.clone(),
    ];
    let mut s = Series::new(base, crate::sys::clock::now_ns());
    network(&mut s, &net_dev::of_pod(ctx, pod).unwrap_or_default());
    let container_metrics = ctx
        .containers
        .in_sandbox(&pod.meta.id)
        .iter()
        // A container started since the sampler's last round is read now.
        .filter_map(|c| {
            ctx.stats.of_running_now(c).map(|sample| container_metrics(ctx, pod, c, &sample))
        })
        .collect();
    PodSandboxMetrics { pod_sandbox_id: pod.meta.id.clone(), metrics: s.out, container_metrics }
}

pub(crate) fn list_pod_sandbox_metrics(ctx: &Context) -> ListPodSandboxMetricsResponse {
    ListPodSandboxMetricsResponse {
        pod_metrics: ctx.sandboxes.list().iter().map(|pod| pod_metrics(ctx, pod)).collect(),
    }
}

pub(crate) fn stream_pod_sandbox_metrics(
    ctx: &std::sync::Arc<Context>,
) -> crate::list_pages::PageStream<StreamPodSandboxMetricsResponse> {
    let ctx = ctx.clone();
    crate::list_pages::pages(
        ctx.sandboxes.list(),
        move |pod| Some(pod_metrics(&ctx, pod)),
        |pod_sandbox_metrics| StreamPodSandboxMetricsResponse { pod_sandbox_metrics },
    )
}

#[cfg(test)]
mod tests {
    use super::super::cgroup::tests::v1_fixture;
    use super::super::cgroup::CgroupSample;
    use super::*;

    /// Every described container metric is emitted, with as many label values as keys.
    #[test]
    fn a_container_gets_every_described_series_with_matching_labels() {
        let base = ["app".to_string(), "c1".into(), "img".into(), "ns".into(), "pod".into()];
        let mut s = Series::new(base, 1);
        sampled(
            &mut s,
            &ContainerSample {
                at_ns: 1,
                cgroup: CgroupSample {
                    cpu_usage_ns: 2_500_000_000,
                    pressure: Pressure::read(
                        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("tests/fixtures/cgroup-v2"),
                    ),
                    ..Default::default()
                },
                nano_cores: None,
            },
        );
        let g = v1_fixture().read_detail().unwrap();
        detail(&mut s, &g);
        block_io(&mut s, &[]);
        processes(&mut s, &[std::process::id()], std::process::id());
        for m in [&d::START_TIME, &d::LAST_SEEN] {
            s.put(m, &[], 0);
        }
        s.put(&d::FS_USAGE, &["/"], 0);
        file_system(&mut s, "/", crate::sys::mount::capacity(std::path::Path::new("/")).unwrap());
        for desc in d::CONTAINER_METRICS {
            let emitted: Vec<&Metric> = s.out.iter().filter(|m| m.name == desc.name).collect();
            assert!(!emitted.is_empty(), "{} is emitted", desc.name);
            assert!(
                emitted
                    .iter()
                    .all(|m| m.label_values.len() == BASE_LABELS.len() + desc.extra.len()),
                "{}",
                desc.name
            );
        }
        let cpu = s.out.iter().find(|m| m.name == d::CPU_USAGE.name).unwrap();
        assert_eq!(
            (cpu.value.unwrap().value, cpu.label_values.last().unwrap().as_str()),
            (2, "total"),
            "whole seconds"
        );
        let stalled = s.out.iter().find(|m| m.name == d::PRESSURE_IO_STALLED.name).unwrap();
        assert_eq!(stalled.value.unwrap().value, 6, "6,000,000 us of full I/O stalls");
        let io = s.out.iter().find(|m| m.name == d::FS_READS.name).unwrap();
        assert_eq!(
            (io.value.unwrap().value, io.label_values[5].as_str()),
            (0, ""),
            "no I/O: one zero series without a device"
        );
    }

    #[test]
    fn network_series_per_interface() {
        let mut s = Series::new(Default::default(), 1);
        let eth0 = InterfaceCounters { name: "eth0".into(), rx_bytes: 7, ..Default::default() };
        network(&mut s, &[eth0]);
        assert_eq!(s.out.len(), d::POD_METRICS.len());
        let rx = s.out.iter().find(|m| m.name == d::NET_RX_BYTES.name).unwrap();
        assert_eq!(
            (rx.value.unwrap().value, rx.label_values.last().unwrap().as_str()),
            (7, "eth0")
        );
    }
}
