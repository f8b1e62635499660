//! The background sampler: about every second it reads the cgroups of each running container
//! (paths found once, from its init process) and of each ready pod that has a cgroup parent
//! (kubelet's pod cgroup), and keeps the latest reading with the CPU rate since the one
//! before. A container or pod whose cgroup is gone drops out of the cache.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;

use super::cgroup::{CgroupPaths, CgroupSample};
use super::cgroup_files::CgroupFiles;
use super::writable_layer::{disk_usage, writable_dir};
use crate::context::Context;
use crate::locks::{MutexExt, RwLockExt};
use crate::store::containers::ContainerState;
use crate::store::sandboxes::SandboxState;

const INTERVAL: Duration = Duration::from_secs(1);
/// The writable layers are measured less often (each is a walk of a directory tree), as
/// containerd's CRI does: a new container at once, then every this many nanoseconds.
const LAYER_EVERY_NS: i64 = 10_000_000_000;
/// Calls about layers made to containerd at once.
const LAYER_CALLS_IN_FLIGHT: usize = 16;

#[derive(Debug, Clone)]
pub struct ContainerSample {
    pub at_ns: i64,
    pub cgroup: CgroupSample,
    /// CPU use since the previous reading, in billionths of a core.
    pub nano_cores: Option<u64>,
}

/// A writable layer's size when it was last measured.
#[derive(Debug, Clone, Copy)]
pub struct LayerSample {
    pub at_ns: i64,
    pub usage: containerd_bridge::SnapshotUsage,
}

impl LayerSample {
    fn now(usage: containerd_bridge::SnapshotUsage) -> LayerSample {
        LayerSample { at_ns: crate::sys::clock::now_ns(), usage }
    }
}

#[derive(Default)]
pub struct StatsCache {
    samples: RwLock<HashMap<String, ContainerSample>>,
    paths: Mutex<HashMap<String, CgroupPaths>>,
    layers: RwLock<HashMap<String, LayerSample>>,
    /// Where each running container's writes land; `None` where its snapshotter's mounts
    /// do not show it.
    writable_dirs: Mutex<HashMap<String, Option<PathBuf>>>,
    pods: RwLock<HashMap<String, ContainerSample>>,
}

/// The sampler's own: the open cgroup files of running containers and ready pods, and the
/// buffer they are read into.
#[derive(Default)]
struct OpenFiles {
    containers: HashMap<String, CgroupFiles>,
    pods: HashMap<String, CgroupFiles>,
    buf: Vec<u8>,
}

impl StatsCache {
    pub fn get(&self, id: &str) -> Option<ContainerSample> {
        self.samples.reading().get(id).cloned()
    }

    /// The latest reading of a container that is running now (one that exited since the last
    /// round has none).
    pub fn of_running(&self, c: &crate::store::containers::Container) -> Option<ContainerSample> {
        (c.status.state == ContainerState::Running).then(|| self.get(&c.meta.id)).flatten()
    }

    /// The latest reading of a pod's own cgroup, where kubelet gave it one.
    pub fn pod(&self, id: &str) -> Option<ContainerSample> {
        self.pods.reading().get(id).cloned()
    }

    /// Where a running container's cgroups are.
    pub fn paths(&self, id: &str) -> Option<CgroupPaths> {
        self.paths.locked().get(id).cloned()
    }

    /// Finds a just-started container's cgroups before the next round does: the exit of a
    /// process killed at once (by the OOM killer, say) may need them.
    pub fn note_started(&self, id: &str, pid: u32) {
        paths_of(self, id, pid, &Mountinfo::default());
    }

    /// A running container's reading: the latest round's, else one read now (it started
    /// since that round). `None` for a container that is not running or whose cgroup is gone.
    pub fn of_running_now(
        &self,
        c: &crate::store::containers::Container,
    ) -> Option<ContainerSample> {
        if c.status.state != ContainerState::Running || c.status.pid == 0 {
            return None;
        }
        self.get(&c.meta.id).or_else(|| {
            let paths = paths_of(self, &c.meta.id, c.status.pid, &Mountinfo::default())?;
            Some(sample(paths.read().ok()?, None))
        })
    }

    pub fn layer(&self, id: &str) -> Option<LayerSample> {
        self.layers.reading().get(id).copied()
    }
}

/// The CPU rate between two readings.
pub fn nano_cores(prev: &ContainerSample, cpu_ns: u64, at_ns: i64) -> Option<u64> {
    let elapsed = u64::try_from(at_ns - prev.at_ns).ok().filter(|e| *e > 0)?;
    let used = cpu_ns.checked_sub(prev.cgroup.cpu_usage_ns)?;
    Some((u128::from(used) * 1_000_000_000 / u128::from(elapsed)) as u64)
}

pub fn spawn(ctx: Arc<Context>) {
    tokio::spawn(async move {
        let mut open = OpenFiles::default();
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = tick.tick().await;
            // Each file answers in microseconds, but a full node has thousands of them: the
            // round runs off the async workers so that no RPC waits behind it.
            let round = ctx.clone();
            open = crate::sys::blocking::off_workers(move || {
                sample_all(&round, &mut open);
                // What bursts of calls (lists of a full node, pod starts) freed goes back to
                // the kernel within a second, rather than staying in glibc's arenas.
                crate::sys::memory::release_free_memory();
                open
            })
            .await;
            ctx.metrics.set_sampler_lag(due.elapsed());
            measure_layers(&ctx).await;
        }
    });
}

/// Measures the layers of running containers not measured yet or not for a while; forgets
/// those of containers that stopped.
async fn measure_layers(ctx: &Arc<Context>) {
    let now = crate::sys::clock::now_ns();
    let running: std::collections::HashSet<String> =
        ctx.stats.samples.reading().keys().cloned().collect();
    let due: Vec<String> = running
        .iter()
        .filter(|id| ctx.stats.layer(id).is_none_or(|l| now - l.at_ns >= LAYER_EVERY_NS))
        .cloned()
        .collect();
    learn_writable_dirs(ctx, &due).await;
    let (walked, asked): (Vec<_>, Vec<_>) = {
        let dirs = ctx.stats.writable_dirs.locked();
        due.into_iter()
            .map(|id| (dirs.get(&id).cloned().flatten(), id))
            .partition(|d| d.0.is_some())
    };
    let mut measured = crate::sys::blocking::off_workers(move || {
        let each = walked.into_iter().filter_map(|(dir, id)| Some((id, disk_usage(&dir?).ok()?)));
        each.map(|(id, usage)| (id, LayerSample::now(usage))).collect::<Vec<_>>()
    })
    .await;
    let answered = ask_containerd(ctx, asked.into_iter().map(|(_, id)| id)).await;
    measured.extend(answered);
    ctx.stats.writable_dirs.locked().retain(|id, _| running.contains(id));
    let mut layers = ctx.stats.layers.writing();
    layers.retain(|id, _| running.contains(id));
    layers.extend(measured);
}

/// The usages containerd's snapshotter gives, for containers whose writes cricket cannot find.
async fn ask_containerd(
    ctx: &Arc<Context>,
    ids: impl Iterator<Item = String>,
) -> Vec<(String, LayerSample)> {
    // Several calls in flight share the connection's writes and wake-ups.
    futures::stream::iter(ids)
        .map(|id| {
            let ctx = ctx.clone();
            async move {
                let usage = ctx.containerd.snapshot_key_usage(&id).await.ok()??;
                Some((id, LayerSample::now(usage)))
            }
        })
        .buffer_unordered(LAYER_CALLS_IN_FLIGHT)
        .filter_map(std::future::ready)
        .collect()
        .await
}

/// Finds, once per container, where the containers in `ids` write, from containerd's mounts
/// of their snapshots.
async fn learn_writable_dirs(ctx: &Arc<Context>, ids: &[String]) {
    let unknown: Vec<String> = {
        let dirs = ctx.stats.writable_dirs.locked();
        ids.iter().filter(|id| !dirs.contains_key(*id)).cloned().collect()
    };
    let found: Vec<_> = futures::stream::iter(unknown)
        .map(|id| {
            let ctx = ctx.clone();
            async move {
                let mounts = ctx.containerd.rootfs_mounts(&id).await.ok()?;
                Some((id, writable_dir(&mounts)))
            }
        })
        .buffer_unordered(LAYER_CALLS_IN_FLIGHT)
        .filter_map(std::future::ready)
        .collect()
        .await;
    ctx.stats.writable_dirs.locked().extend(found);
}

fn paths_of(cache: &StatsCache, id: &str, pid: u32, mountinfo: &Mountinfo) -> Option<CgroupPaths> {
    let mut paths = cache.paths.locked();
    if let Some(p) = paths.get(id) {
        return Some(p.clone());
    }
    let proc_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let found = CgroupPaths::of_process(&proc_cgroup, mountinfo.get())?;
    paths.insert(id.to_string(), found.clone());
    Some(found)
}

/// A reading made now, with the CPU rate since `prev`.
fn sample(reading: CgroupSample, prev: Option<ContainerSample>) -> ContainerSample {
    let at_ns = crate::sys::clock::now_ns();
    let nano = prev.and_then(|prev| nano_cores(&prev, reading.cpu_usage_ns, at_ns));
    ContainerSample { at_ns, cgroup: reading, nano_cores: nano }
}

/// A new reading of `id`'s cgroup through its open files (opened at `paths` the first time),
/// with the CPU rate since `prev`. `None`, and the files closed, once the cgroup is gone.
fn read_sample(
    open: &mut HashMap<String, CgroupFiles>,
    buf: &mut Vec<u8>,
    id: &str,
    paths: impl FnOnce() -> Option<CgroupPaths>,
    prev: Option<ContainerSample>,
) -> Option<ContainerSample> {
    if !open.contains_key(id) {
        open.insert(id.to_string(), CgroupFiles::open(&paths()?).ok()?);
    }
    match open.get(id)?.read(buf) {
        Ok(reading) => Some(sample(reading, prev)),
        Err(_) => {
            open.remove(id);
            None
        }
    }
}

/// Reads each ready pod's cgroup (kubelet's `cgroup_parent`), found once per pod.
fn sample_pods(ctx: &Context, open: &mut OpenFiles, mountinfo: &Mountinfo) {
    let cache = &ctx.stats;
    let mut fresh = HashMap::new();
    let ready = ctx.sandboxes.map(|pod| {
        let parent = pod.config.linux.as_ref().map(|l| l.cgroup_parent.as_str())?;
        (pod.status.state == SandboxState::Ready && !parent.is_empty())
            .then(|| (pod.meta.id.clone(), parent.to_string()))
    });
    for (id, parent) in &ready {
        let paths = || CgroupPaths::of_cgroup(parent, mountinfo.get());
        if let Some(sample) = read_sample(&mut open.pods, &mut open.buf, id, paths, cache.pod(id)) {
            fresh.insert(id.clone(), sample);
        }
    }
    open.pods.retain(|id, _| fresh.contains_key(id));
    *cache.pods.writing() = fresh;
}

/// `/proc/self/mountinfo`, read when first needed: with hundreds of pods it is long, and
/// only a container or pod seen for the first time needs it.
#[derive(Default)]
struct Mountinfo(std::sync::OnceLock<String>);

impl Mountinfo {
    fn get(&self) -> &str {
        self.0.get_or_init(|| std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
    }
}

fn sample_all(ctx: &Context, open: &mut OpenFiles) {
    let cache = &ctx.stats;
    let mountinfo = Mountinfo::default();
    let running = ctx.containers.map(|c| {
        (c.status.state == ContainerState::Running && c.status.pid > 0)
            .then(|| (c.meta.id.clone(), c.status.pid))
    });
    let mut fresh = HashMap::with_capacity(running.len());
    for (id, pid) in &running {
        let paths = || paths_of(cache, id, *pid, &mountinfo);
        let prev = cache.get(id);
        if let Some(sample) = read_sample(&mut open.containers, &mut open.buf, id, paths, prev) {
            fresh.insert(id.clone(), sample);
        }
    }
    cache.paths.locked().retain(|id, _| fresh.contains_key(id));
    open.containers.retain(|id, _| fresh.contains_key(id));
    *cache.samples.writing() = fresh;
    sample_pods(ctx, open, &mountinfo);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_busy_core_is_a_billion_nano_cores() {
        let prev = ContainerSample {
            at_ns: 1_000_000_000,
            cgroup: CgroupSample { cpu_usage_ns: 5_000_000_000, ..Default::default() },
            nano_cores: None,
        };
        assert_eq!(nano_cores(&prev, 6_000_000_000, 2_000_000_000), Some(1_000_000_000));
        assert_eq!(nano_cores(&prev, 5_250_000_000, 2_000_000_000), Some(250_000_000));
        assert_eq!(
            nano_cores(&prev, 4_000_000_000, 2_000_000_000),
            None,
            "a counter that went back (a new cgroup)"
        );
    }
}
