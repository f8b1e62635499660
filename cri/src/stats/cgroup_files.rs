//! The cgroup files a sampling round reads, opened once per container or pod and read again
//! in place each round. On a full node the sampler reads thousands of them a second, and
//! opening and closing a file costs more than the kernel takes to fill it.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::cgroup::{v1_limit, CgroupPaths, CgroupSample};

/// The open files of one cgroup (per hierarchy on v1).
#[derive(Debug)]
pub enum CgroupFiles {
    V1 {
        stat: File,
        usage: File,
        cpuacct: File,
        limit: Option<File>,
        /// Absent without swap accounting.
        memsw: Option<File>,
        pids: Option<File>,
    },
    V2 {
        stat: File,
        cpu: File,
        current: File,
        max: Option<File>,
        swap: Option<File>,
        pids: Option<File>,
        /// Pressure files are read by path (v2 only, and absent on many kernels).
        dir: PathBuf,
    },
}

impl CgroupFiles {
    /// Opens the files at `paths`; an error if a file every reading needs is missing.
    pub fn open(paths: &CgroupPaths) -> io::Result<CgroupFiles> {
        let optional = |dir: &Path, name: &str| File::open(dir.join(name)).ok();
        Ok(match paths {
            CgroupPaths::V1 { cpuacct, memory, pids, .. } => CgroupFiles::V1 {
                stat: File::open(memory.join("memory.stat"))?,
                usage: File::open(memory.join("memory.usage_in_bytes"))?,
                cpuacct: File::open(cpuacct.join("cpuacct.usage"))?,
                limit: optional(memory, "memory.limit_in_bytes"),
                memsw: optional(memory, "memory.memsw.usage_in_bytes"),
                pids: pids.as_ref().and_then(|p| optional(p, "pids.current")),
            },
            CgroupPaths::V2(dir) => CgroupFiles::V2 {
                stat: File::open(dir.join("memory.stat"))?,
                cpu: File::open(dir.join("cpu.stat"))?,
                current: File::open(dir.join("memory.current"))?,
                max: optional(dir, "memory.max"),
                swap: optional(dir, "memory.swap.current"),
                pids: optional(dir, "pids.current"),
                dir: dir.clone(),
            },
        })
    }

    /// A reading now; `buf` is reused between files and calls. An error once the cgroup is
    /// gone.
    pub fn read(&self, buf: &mut Vec<u8>) -> io::Result<CgroupSample> {
        let mut number = |f: &File| -> io::Result<u64> { number(read_at_start(f, buf)?) };
        match self {
            CgroupFiles::V1 { stat, usage, cpuacct, limit, memsw, pids } => {
                let usage = number(usage)?;
                let cpu_usage_ns = number(cpuacct)?;
                let memory_limit = limit.as_ref().and_then(|f| number(f).ok()).and_then(v1_limit);
                let memsw = memsw.as_ref().and_then(|f| number(f).ok());
                let pids = pids.as_ref().and_then(|f| number(f).ok());
                let [inactive, rss, faults, major] = keyed(
                    read_at_start(stat, buf)?,
                    ["total_inactive_file", "total_rss", "total_pgfault", "total_pgmajfault"],
                );
                Ok(CgroupSample {
                    cpu_usage_ns,
                    memory_usage: usage,
                    working_set: usage.saturating_sub(inactive),
                    rss,
                    page_faults: faults,
                    major_page_faults: major,
                    memory_limit,
                    swap_usage: memsw.map(|m| m.saturating_sub(usage)),
                    pids,
                    pressure: Default::default(),
                })
            }
            CgroupFiles::V2 { stat, cpu, current, max, swap, pids, dir } => {
                let usage = number(current)?;
                let memory_limit = max.as_ref().and_then(|f| number(f).ok());
                let swap_usage = swap.as_ref().and_then(|f| number(f).ok());
                let pids = pids.as_ref().and_then(|f| number(f).ok());
                let [usage_usec] = keyed(read_at_start(cpu, buf)?, ["usage_usec"]);
                let [inactive, anon, faults, major] = keyed(
                    read_at_start(stat, buf)?,
                    ["inactive_file", "anon", "pgfault", "pgmajfault"],
                );
                Ok(CgroupSample {
                    cpu_usage_ns: usage_usec * 1000,
                    memory_usage: usage,
                    working_set: usage.saturating_sub(inactive),
                    rss: anon,
                    page_faults: faults,
                    major_page_faults: major,
                    memory_limit,
                    swap_usage,
                    pids,
                    pressure: super::pressure::Pressure::read(dir),
                })
            }
        }
    }
}

/// The whole file, read from its start (the kernel makes the text anew for each read there).
fn read_at_start<'b>(f: &File, buf: &'b mut Vec<u8>) -> io::Result<&'b str> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = f.read_at(&mut chunk, buf.len() as u64)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A file of one number ("max", v2's "no limit", is an error).
fn number(text: &str) -> io::Result<u64> {
    text.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("not a number: {text:?}")))
}

/// The values of `keys` in `key value` lines; 0 for a key not there.
pub(super) fn keyed<const N: usize>(text: &str, keys: [&str; N]) -> [u64; N] {
    let mut values = [0; N];
    for (key, value) in text.lines().filter_map(|l| l.split_once(' ')) {
        if let Some(i) = keys.iter().position(|k| *k == key) {
            values[i] = value.trim().parse().unwrap_or(0);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::super::cgroup::tests::{v1_fixture, v2_fixture};
    use super::*;

    #[test]
    fn keyed_lines_give_the_asked_values_and_zero_for_the_missing() {
        let text = "total_rss 5\ncache 7\ntotal_pgfault 9\n";
        assert_eq!(keyed(text, ["total_pgfault", "total_rss", "nope"]), [9, 5, 0]);
    }

    #[test]
    fn files_read_again_give_what_the_paths_give() {
        for paths in [v1_fixture(), v2_fixture()] {
            let files = CgroupFiles::open(&paths).unwrap();
            let mut buf = Vec::new();
            let first = files.read(&mut buf).unwrap();
            assert_eq!(files.read(&mut buf).unwrap(), first, "a second read of the same files");
            assert!(first.cpu_usage_ns > 0 && first.memory_usage > 0, "{first:?}");
        }
    }
}
