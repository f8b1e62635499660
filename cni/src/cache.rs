//! The on-disk cache of ADD results: DEL and CHECK need them (a DEL without its result can
//! leak the IP), and they must survive a crash of the daemon, so they are written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::args::RuntimeConf;
use crate::error::{CniError, Result};

/// What is kept of one attachment (network, container, interface).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedAttachment {
    pub kind: String,
    pub container_id: String,
    pub if_name: String,
    pub network_name: String,
    /// The network configuration list the ADD ran with.
    pub config: serde_json::Value,
    /// The final result of the ADD chain.
    pub result: serde_json::Value,
    pub cni_args: Vec<(String, String)>,
    pub capability_args: serde_json::Value,
}

pub struct ResultCache {
    dir: PathBuf,
}

impl ResultCache {
    /// Results live in `<dir>/results/`.
    pub fn new(dir: impl Into<PathBuf>) -> ResultCache {
        ResultCache { dir: dir.into().join("results") }
    }

    fn path(&self, network: &str, container_id: &str, ifname: &str) -> PathBuf {
        self.dir.join(format!("{network}-{container_id}-{ifname}"))
    }

    pub fn save(
        &self,
        network: &str,
        rc: &RuntimeConf,
        config: &serde_json::Value,
        result: &serde_json::Value,
    ) -> Result<()> {
        let entry = CachedAttachment {
            kind: "cniCacheV1".into(),
            container_id: rc.container_id.clone(),
            if_name: rc.ifname.clone(),
            network_name: network.into(),
            config: config.clone(),
            result: result.clone(),
            cni_args: rc.args.clone(),
            capability_args: serde_json::to_value(&rc.capability_args).unwrap_or_default(),
        };
        let bytes = serde_json::to_vec(&entry).expect("serialisable");
        let path = self.path(network, &rc.container_id, &rc.ifname);
        off_the_workers(|| atomic_write(&path, &bytes))
    }

    pub fn load(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<Option<CachedAttachment>> {
        let path = self.path(network, container_id, ifname);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CniError::Parse { path, detail: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CniError::Io { what: "read cached result", path, source }),
        }
    }

    pub fn remove(&self, network: &str, container_id: &str, ifname: &str) -> Result<()> {
        let path = self.path(network, container_id, ifname);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CniError::Io { what: "remove cached result", path, source: e })
            }
            _ => Ok(()),
        }
    }

    /// Every cached attachment (for GC and for recovery).
    pub fn list(&self) -> Vec<CachedAttachment> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return vec![] };
        entries
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }
}

/// Writes `bytes` to `path` so that a reader (or a crash) sees the old or the new content,
/// never a mix: a temporary file in the same directory, fsync, rename, fsync the directory.
/// Runs `f`, which waits for the disk (fsync), after tokio has handed this worker's other
/// tasks to another thread, when called on a multi-threaded runtime.
fn off_the_workers<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |what: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |source| CniError::Io { what, path, source }
    };
    std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().unwrap_or_default().to_string_lossy()));
    let mut file = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    file.write_all(bytes).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", path))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_results_load_back_and_go_away() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(tmp.path());
        let rc = RuntimeConf::for_pod("c1", "/ns", "ns", "pod", "uid");
        let result = serde_json::json!({"cniVersion": "1.0.0", "ips": []});
        cache.save("pods", &rc, &serde_json::json!({"name": "pods"}), &result).unwrap();
        let got = cache.load("pods", "c1", "eth0").unwrap().unwrap();
        assert_eq!(got.result, result);
        assert_eq!(got.cni_args[0].0, "K8S_POD_NAMESPACE");
        assert_eq!(cache.list().len(), 1);
        cache.remove("pods", "c1", "eth0").unwrap();
        assert!(cache.load("pods", "c1", "eth0").unwrap().is_none());
        cache.remove("pods", "c1", "eth0").unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("results")).unwrap().collect();
        assert!(leftovers.is_empty(), "no temporary files left");
    }
}
