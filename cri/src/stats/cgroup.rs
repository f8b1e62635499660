//! A container's resource usage from its cgroups, v1 (one hierarchy per controller) or v2 (one
//! unified hierarchy): CPU time, memory (working set = usage minus inactive file, as kubelet
//! and cAdvisor count it), page faults, swap, process count and, on v2, pressure stalls.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupSample {
    pub cpu_usage_ns: u64,
    pub memory_usage: u64,
    pub working_set: u64,
    pub rss: u64,
    pub page_faults: u64,
    pub major_page_faults: u64,
    /// None: no limit.
    pub memory_limit: Option<u64>,
    pub swap_usage: Option<u64>,
    pub pids: Option<u64>,
    /// Pressure stall information (cgroup v2 only).
    pub pressure: super::pressure::Pressure,
}

/// Where a process's cgroups are.
#[derive(Debug, Clone, PartialEq)]
pub enum CgroupPaths {
    V1 {
        cpuacct: PathBuf,
        memory: PathBuf,
        pids: Option<PathBuf>,
        cpu: Option<PathBuf>,
        blkio: Option<PathBuf>,
    },
    V2(PathBuf),
}

pub(super) fn read_u64(path: &Path) -> std::io::Result<u64> {
    let text = std::fs::read_to_string(path)?;
    text.trim().parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {text:?}", path.display()),
        )
    })
}

/// `key value` lines.
pub(super) fn read_keyed(path: &Path) -> std::io::Result<HashMap<String, u64>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect())
}

/// v1 reports no limit as a huge number (a page-rounded i64::MAX).
pub(super) fn v1_limit(value: u64) -> Option<u64> {
    (value < 1 << 62).then_some(value)
}

impl CgroupPaths {
    /// A reading now (the sampler keeps the files open instead).
    pub fn read(&self) -> std::io::Result<CgroupSample> {
        super::cgroup_files::CgroupFiles::open(self)?.read(&mut Vec::new())
    }

    /// The cgroups of `pid`, from `/proc/<pid>/cgroup` and the cgroup mounts in `mountinfo`.
    pub fn of_process(proc_cgroup: &str, mountinfo: &str) -> Option<CgroupPaths> {
        let mounts = cgroup_mounts(mountinfo);
        let mut v1: HashMap<&str, PathBuf> = HashMap::new();
        for line in proc_cgroup.lines() {
            let mut f = line.splitn(3, ':');
            let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
            let rel = path.trim_start_matches('/');
            if controllers.is_empty() {
                if let Some(root) = mounts.get("") {
                    v1.entry("unified").or_insert_with(|| root.join(rel));
                }
                continue;
            }
            for c in controllers.split(',') {
                if let Some(root) = mounts.get(c) {
                    v1.insert(if c == "cpuacct" { "cpuacct" } else { c }, root.join(rel));
                }
            }
        }
        match (v1.remove("cpuacct"), v1.remove("memory")) {
            (Some(cpuacct), Some(memory)) => Some(CgroupPaths::V1 {
                cpuacct,
                memory,
                pids: v1.remove("pids"),
                cpu: v1.remove("cpu"),
                blkio: v1.remove("blkio"),
            }),
            _ => v1.remove("unified").map(CgroupPaths::V2),
        }
    }
}

/// The directory of a systemd slice: `a-b-c.slice` nests in `a.slice` and `a-b.slice`
/// (systemd.slice(5)); `-.slice` is the root.
pub fn slice_dir(slice: &str) -> Option<String> {
    let name = slice.strip_suffix(".slice")?;
    if slice == "-.slice" {
        return Some("/".into());
    }
    if name.is_empty()
        || name.contains('/')
        || name.starts_with('-')
        || name.ends_with('-')
        || name.contains("--")
    {
        return None;
    }
    let mut dir = String::new();
    let mut prefix = String::new();
    for part in name.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        dir.push_str(&format!("/{prefix}.slice"));
    }
    Some(dir)
}

impl CgroupPaths {
    /// The cgroups at `path` (a cgroupfs path such as kubelet's pod `cgroup_parent`, or a
    /// systemd slice name) in every hierarchy mounted, per `mountinfo`.
    pub fn of_cgroup(path: &str, mountinfo: &str) -> Option<CgroupPaths> {
        let dir = if path.ends_with(".slice") && !path.contains('/') {
            slice_dir(path)?
        } else {
            path.to_string()
        };
        let rel = dir.trim_start_matches('/');
        let mounts = cgroup_mounts(mountinfo);
        let at = |controller: &str| mounts.get(controller).map(|root| root.join(rel));
        match (at("cpuacct"), at("memory")) {
            (Some(cpuacct), Some(memory)) => Some(CgroupPaths::V1 {
                cpuacct,
                memory,
                pids: at("pids"),
                cpu: at("cpu"),
                blkio: at("blkio"),
            }),
            _ => at("").map(CgroupPaths::V2),
        }
        .filter(|p| p.exists())
    }

    /// OOM kills the kernel counted in this cgroup (Linux 4.13 and later; 0 before).
    pub fn oom_kills(&self) -> u64 {
        let file = match self {
            CgroupPaths::V1 { memory, .. } => memory.join("memory.oom_control"),
            CgroupPaths::V2(dir) => dir.join("memory.events"),
        };
        read_keyed(&file).ok().and_then(|k| k.get("oom_kill").copied()).unwrap_or(0)
    }

    fn exists(&self) -> bool {
        match self {
            CgroupPaths::V1 { memory, .. } => memory.is_dir(),
            CgroupPaths::V2(dir) => dir.is_dir(),
        }
    }
}

/// Mount points of cgroup hierarchies by controller (v1), and of the unified one under "".
fn cgroup_mounts(mountinfo: &str) -> HashMap<String, PathBuf> {
    let mut mounts = HashMap::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mount_point = left.split(' ').nth(4).unwrap_or_default();
        let mut r = right.split(' ');
        let (fstype, _source, options) =
            (r.next().unwrap_or_default(), r.next(), r.next().unwrap_or_default());
        match fstype {
            "cgroup2" => {
                mounts.insert(String::new(), PathBuf::from(mount_point));
            }
            "cgroup" => {
                for o in options.split(',') {
                    mounts.insert(o.to_string(), PathBuf::from(mount_point));
                }
            }
            _ => {}
        }
    }
    mounts
}

#[cfg(test)]
pub(in crate::stats) mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    pub(in crate::stats) fn v1_fixture() -> CgroupPaths {
        let root = fixture("cgroup-v1");
        let at = |c: &str| root.join(c);
        CgroupPaths::V1 {
            cpuacct: at("cpuacct"),
            memory: at("memory"),
            pids: Some(at("pids")),
            cpu: Some(at("cpu")),
            blkio: Some(at("blkio")),
        }
    }

    pub(in crate::stats) fn v2_fixture() -> CgroupPaths {
        CgroupPaths::V2(fixture("cgroup-v2"))
    }

    #[test]
    fn a_v1_tree_from_a_real_host() {
        let paths = v1_fixture();
        let s = paths.read().unwrap();
        assert_eq!(s.cpu_usage_ns, 14224569281703);
        assert_eq!(s.memory_usage, 16881524736);
        assert_eq!(s.working_set, 16881524736 - 11981119488, "usage minus inactive file");
        assert_eq!((s.rss, s.page_faults, s.major_page_faults), (5521408, 560680317, 160929));
        assert_eq!(s.memory_limit, None, "the huge v1 value means no limit");
        assert_eq!(s.pids, Some(7));
    }

    #[test]
    fn a_v2_tree() {
        let s = v2_fixture().read().unwrap();
        assert_eq!(s.cpu_usage_ns, 2_530_114_000);
        assert_eq!(
            (s.memory_usage, s.working_set, s.rss),
            (52428800, 52428800 - 10485760, 31457280)
        );
        assert_eq!((s.page_faults, s.major_page_faults), (12345, 12));
        assert_eq!((s.memory_limit, s.swap_usage, s.pids), (None, Some(4096), Some(3)));
        assert!(s.pressure.cpu.is_some() && s.pressure.memory.is_some() && s.pressure.io.is_some());
    }

    #[test]
    fn slices_nest_by_their_dashes() {
        assert_eq!(
            slice_dir("kubepods-burstable-pod12.slice").as_deref(),
            Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice")
        );
        assert_eq!(slice_dir("kubepods.slice").as_deref(), Some("/kubepods.slice"));
        assert_eq!(slice_dir("-.slice").as_deref(), Some("/"));
        assert_eq!(slice_dir("a--b.slice"), None);
        assert_eq!(slice_dir("/kubepods"), None);
    }

    #[test]
    fn a_pod_cgroup_in_every_hierarchy() {
        let root = tempfile::tempdir().unwrap();
        let (cpu, mem) = (root.path().join("cpu,cpuacct"), root.path().join("memory"));
        std::fs::create_dir_all(mem.join("kubepods/pod1")).unwrap();
        let mountinfo = format!(
            "30 25 0:26 / {} rw - cgroup cgroup rw,cpu,cpuacct\n31 25 0:27 / {} rw - cgroup cgroup rw,memory\n",
            cpu.display(),
            mem.display()
        );
        let found = CgroupPaths::of_cgroup("/kubepods/pod1", &mountinfo).unwrap();
        assert_eq!(
            found,
            CgroupPaths::V1 {
                cpuacct: cpu.join("kubepods/pod1"),
                memory: mem.join("kubepods/pod1"),
                pids: None,
                cpu: Some(cpu.join("kubepods/pod1")),
                blkio: None
            }
        );
        assert_eq!(
            CgroupPaths::of_cgroup("/kubepods/absent", &mountinfo),
            None,
            "a cgroup not made yet"
        );
        let unified = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(unified.path().join("kubepods.slice/kubepods-pod1.slice")).unwrap();
        let mountinfo =
            format!("28 25 0:24 / {} rw - cgroup2 cgroup2 rw\n", unified.path().display());
        let v2 = CgroupPaths::of_cgroup("kubepods-pod1.slice", &mountinfo).unwrap();
        assert_eq!(v2, CgroupPaths::V2(unified.path().join("kubepods.slice/kubepods-pod1.slice")));
    }

    #[test]
    fn paths_come_from_proc_cgroup_and_the_mounts() {
        let mountinfo = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct\n\
                         31 25 0:27 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory\n\
                         32 25 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        let proc_cgroup = "5:pids:/kubepods/pod1/c1\n4:memory:/kubepods/pod1/c1\n2:cpu,cpuacct:/kubepods/pod1/c1\n0::/\n";
        let paths = CgroupPaths::of_process(proc_cgroup, mountinfo).unwrap();
        assert_eq!(
            paths,
            CgroupPaths::V1 {
                cpuacct: "/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/c1".into(),
                memory: "/sys/fs/cgroup/memory/kubepods/pod1/c1".into(),
                pids: Some("/sys/fs/cgroup/pids/kubepods/pod1/c1".into()),
                cpu: Some("/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/c1".into()),
                blkio: None,
            }
        );
        let unified = "28 25 0:24 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            CgroupPaths::of_process("0::/kubepods.slice/c1.scope\n", unified),
            Some(CgroupPaths::V2("/sys/fs/cgroup/kubepods.slice/c1.scope".into()))
        );
    }
}
