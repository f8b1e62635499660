//! What the cAdvisor-named metrics add to the sampler's reading, read only when metrics are
//! asked for (kubelet scrapes every 15 s or so; the sampler runs every second): the CPU time
//! split into user and system, page cache, mapped files, limit hits, peak usage, OOM kills,
//! the limits in force, CFS throttling, kernel memory, threads, and block I/O per device.

use std::collections::BTreeMap;
use std::path::Path;

use super::cgroup::{read_keyed, read_u64, v1_limit, CgroupPaths};

/// Block I/O through one device, as the cgroup accounts it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceIo {
    pub major: u32,
    pub minor: u32,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub reads: u64,
    pub writes: u64,
}

/// Limits are 0 when there is none, as cAdvisor reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupDetail {
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    pub cache: u64,
    pub mapped_file: u64,
    /// Page faults of this cgroup alone, and of it with its descendants.
    pub pgfault: (u64, u64),
    pub pgmajfault: (u64, u64),
    /// Times usage hit the limit.
    pub failcnt: u64,
    pub max_usage: u64,
    pub oom_kills: u64,
    pub cpu_period_us: u64,
    pub cpu_shares: u64,
    /// CFS enforcement periods elapsed, and those in which the cgroup was throttled.
    pub cfs_periods: u64,
    pub cfs_throttled_periods: u64,
    pub cfs_throttled_ns: u64,
    pub kernel_memory: u64,
    pub memory_limit: u64,
    pub memory_reservation: u64,
    pub swap_limit: u64,
    pub threads: u64,
    pub threads_max: u64,
    pub io: Vec<DeviceIo>,
}

/// "max" (v2) reads as no limit.
fn read_limit(path: &Path) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

fn count_lines(path: &Path) -> u64 {
    std::fs::read_to_string(path).map(|t| t.lines().count() as u64).unwrap_or(0)
}

/// `MAJ:MIN` of a blkio or io.stat line.
fn device(word: &str) -> Option<(u32, u32)> {
    let (major, minor) = word.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// v1 `blkio.throttle.io_service{_bytes,d}_recursive`: `8:0 Read 4096` lines.
fn v1_io(blkio: &Path) -> Vec<DeviceIo> {
    let mut by_device: BTreeMap<(u32, u32), DeviceIo> = BTreeMap::new();
    for (file, bytes) in [
        ("blkio.throttle.io_service_bytes_recursive", true),
        ("blkio.throttle.io_serviced_recursive", false),
    ] {
        let text = std::fs::read_to_string(blkio.join(file)).unwrap_or_default();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(dev), Some(op), Some(value)) =
                (f.next().and_then(device), f.next(), f.next().and_then(|v| v.parse::<u64>().ok()))
            else {
                continue;
            };
            let d = by_device.entry(dev).or_insert_with(|| DeviceIo {
                major: dev.0,
                minor: dev.1,
                ..Default::default()
            });
            match (op, bytes) {
                ("Read", true) => d.read_bytes = value,
                ("Write", true) => d.write_bytes = value,
                ("Read", false) => d.reads = value,
                ("Write", false) => d.writes = value,
                _ => {}
            }
        }
    }
    by_device.into_values().collect()
}

/// v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...` lines.
fn v2_io(dir: &Path) -> Vec<DeviceIo> {
    let text = std::fs::read_to_string(dir.join("io.stat")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((major, minor)) = f.next().and_then(device) else { continue };
        let mut d = DeviceIo { major, minor, ..Default::default() };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else { continue };
            let v = v.parse().unwrap_or(0);
            match k {
                "rbytes" => d.read_bytes = v,
                "wbytes" => d.write_bytes = v,
                "rios" => d.reads = v,
                "wios" => d.writes = v,
                _ => {}
            }
        }
        out.push(d);
    }
    out
}

/// cAdvisor's conversion of a v2 `cpu.weight` to v1 shares.
fn weight_to_shares(weight: u64) -> u64 {
    if weight == 0 {
        return 0;
    }
    2 + (weight - 1) * 262142 / 9999
}

impl CgroupPaths {
    pub fn read_detail(&self) -> std::io::Result<CgroupDetail> {
        match self {
            CgroupPaths::V1 { cpuacct, memory, pids, cpu, blkio } => {
                let stat = read_keyed(&memory.join("memory.stat"))?;
                let get = |k: &str| stat.get(k).copied().unwrap_or(0);
                let cpu_stat = read_keyed(&cpuacct.join("cpuacct.stat")).unwrap_or_default();
                let tick_ns = 1_000_000_000 / crate::sys::process::clock_ticks_per_second();
                let limit =
                    |file: &str| read_u64(&memory.join(file)).ok().and_then(v1_limit).unwrap_or(0);
                let oom = read_keyed(&memory.join("memory.oom_control")).unwrap_or_default();
                let cfs = cpu
                    .as_ref()
                    .and_then(|c| read_keyed(&c.join("cpu.stat")).ok())
                    .unwrap_or_default();
                let cfs_get = |k: &str| cfs.get(k).copied().unwrap_or(0);
                Ok(CgroupDetail {
                    cpu_user_ns: cpu_stat.get("user").copied().unwrap_or(0) * tick_ns,
                    cpu_system_ns: cpu_stat.get("system").copied().unwrap_or(0) * tick_ns,
                    cache: get("total_cache"),
                    mapped_file: get("total_mapped_file"),
                    pgfault: (get("pgfault"), get("total_pgfault")),
                    pgmajfault: (get("pgmajfault"), get("total_pgmajfault")),
                    failcnt: read_u64(&memory.join("memory.failcnt")).unwrap_or(0),
                    max_usage: read_u64(&memory.join("memory.max_usage_in_bytes")).unwrap_or(0),
                    oom_kills: oom.get("oom_kill").copied().unwrap_or(0),
                    cpu_period_us: cpu
                        .as_ref()
                        .and_then(|c| read_u64(&c.join("cpu.cfs_period_us")).ok())
                        .unwrap_or(0),
                    cpu_shares: cpu
                        .as_ref()
                        .and_then(|c| read_u64(&c.join("cpu.shares")).ok())
                        .unwrap_or(0),
                    cfs_periods: cfs_get("nr_periods"),
                    cfs_throttled_periods: cfs_get("nr_throttled"),
                    cfs_throttled_ns: cfs_get("throttled_time"),
                    kernel_memory: read_u64(&memory.join("memory.kmem.usage_in_bytes"))
                        .unwrap_or(0),
                    memory_limit: limit("memory.limit_in_bytes"),
                    memory_reservation: limit("memory.soft_limit_in_bytes"),
                    swap_limit: limit("memory.memsw.limit_in_bytes"),
                    threads: count_lines(&memory.join("tasks")),
                    threads_max: pids
                        .as_ref()
                        .map(|p| read_limit(&p.join("pids.max")))
                        .unwrap_or(0),
                    io: blkio.as_deref().map(v1_io).unwrap_or_default(),
                })
            }
            CgroupPaths::V2(dir) => {
                let stat = read_keyed(&dir.join("memory.stat"))?;
                let get = |k: &str| stat.get(k).copied().unwrap_or(0);
                let cpu = read_keyed(&dir.join("cpu.stat")).unwrap_or_default();
                let events = read_keyed(&dir.join("memory.events")).unwrap_or_default();
                let cpu_max = std::fs::read_to_string(dir.join("cpu.max")).unwrap_or_default();
                Ok(CgroupDetail {
                    cpu_user_ns: cpu.get("user_usec").copied().unwrap_or(0) * 1000,
                    cpu_system_ns: cpu.get("system_usec").copied().unwrap_or(0) * 1000,
                    cache: get("file"),
                    mapped_file: get("file_mapped"),
                    // v2 counts faults for the subtree only.
                    pgfault: (get("pgfault"), get("pgfault")),
                    pgmajfault: (get("pgmajfault"), get("pgmajfault")),
                    failcnt: events.get("max").copied().unwrap_or(0),
                    max_usage: read_u64(&dir.join("memory.peak")).unwrap_or(0),
                    oom_kills: events.get("oom_kill").copied().unwrap_or(0),
                    cpu_period_us: cpu_max
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0),
                    cpu_shares: read_u64(&dir.join("cpu.weight"))
                        .map(weight_to_shares)
                        .unwrap_or(0),
                    cfs_periods: cpu.get("nr_periods").copied().unwrap_or(0),
                    cfs_throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
                    cfs_throttled_ns: cpu.get("throttled_usec").copied().unwrap_or(0) * 1000,
                    // "kernel" since Linux 5.18; before, its two largest parts.
                    kernel_memory: stat
                        .get("kernel")
                        .copied()
                        .unwrap_or_else(|| get("kernel_stack") + get("slab")),
                    memory_limit: read_limit(&dir.join("memory.max")),
                    memory_reservation: read_limit(&dir.join("memory.low")),
                    swap_limit: read_limit(&dir.join("memory.swap.max")),
                    threads: count_lines(&dir.join("cgroup.threads")),
                    threads_max: read_limit(&dir.join("pids.max")),
                    io: v2_io(dir),
                })
            }
        }
    }

    /// The PIDs in the cgroup.
    pub fn procs(&self) -> Vec<u32> {
        let dir = match self {
            CgroupPaths::V1 { memory, .. } => memory,
            CgroupPaths::V2(dir) => dir,
        };
        std::fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::cgroup::tests::{v1_fixture, v2_fixture};
    use super::*;

    #[test]
    fn v1_detail_from_a_real_host() {
        let d = v1_fixture().read_detail().unwrap();
        let tick_ns = 1_000_000_000 / crate::sys::process::clock_ticks_per_second();
        assert_eq!((d.cpu_user_ns, d.cpu_system_ns), (152 * tick_ns, 27 * tick_ns));
        assert_eq!((d.cache, d.mapped_file), (16876191744, 11239424));
        assert_eq!((d.pgfault, d.pgmajfault), ((81438, 560680317), (0, 160929)));
        assert_eq!((d.failcnt, d.max_usage, d.oom_kills), (3, 16979705856, 1));
        assert_eq!((d.cpu_period_us, d.cpu_shares), (100000, 2));
        assert_eq!(
            (d.cfs_periods, d.cfs_throttled_periods, d.cfs_throttled_ns),
            (1200, 37, 4_250_000_000)
        );
        assert_eq!(d.kernel_memory, 890224640);
        assert_eq!(
            (d.memory_limit, d.memory_reservation, d.swap_limit),
            (0, 0, 0),
            "v1's huge values mean none"
        );
        assert_eq!((d.threads, d.threads_max), (2, 0));
        assert_eq!(
            d.io,
            [DeviceIo {
                major: 254,
                minor: 0,
                read_bytes: 5242880,
                write_bytes: 0,
                reads: 40,
                writes: 0
            }]
        );
    }

    #[test]
    fn v2_detail() {
        let d = v2_fixture().read_detail().unwrap();
        assert_eq!((d.cpu_user_ns, d.cpu_system_ns), (1_840_000_000, 690_114_000));
        assert_eq!((d.cache, d.mapped_file, d.pgfault), (20971520, 4194304, (12345, 12345)));
        assert_eq!((d.failcnt, d.max_usage, d.oom_kills), (5, 60817408, 2));
        assert_eq!((d.cpu_period_us, d.cpu_shares), (100000, 2597));
        assert_eq!(
            (d.cfs_periods, d.cfs_throttled_periods, d.cfs_throttled_ns),
            (300, 12, 1_500_000_000)
        );
        assert_eq!(d.kernel_memory, 1048576);
        assert_eq!((d.memory_limit, d.memory_reservation, d.swap_limit), (0, 0, 0));
        assert_eq!((d.threads, d.threads_max), (4, 4096));
        assert_eq!(
            d.io,
            [DeviceIo {
                major: 8,
                minor: 0,
                read_bytes: 1048576,
                write_bytes: 2097152,
                reads: 16,
                writes: 32
            }]
        );
    }

    #[test]
    fn weights_map_onto_shares_as_cadvisor_maps_them() {
        assert_eq!(weight_to_shares(1), 2);
        assert_eq!(weight_to_shares(10000), 262144);
        assert_eq!(weight_to_shares(100), 2597);
    }
}
