//! The pod network as the configuration directory says now: re-read whenever a file in it is
//! added, removed or changed (checked on each call; a few stats), so NetworkReady and new
//! pods follow edits without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::conflist::NetworkConfigList;
use crate::loader::load_default_network;

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// What loading the directory gave: the network, none, or why none loads.
type Loaded = Result<Option<Arc<NetworkConfigList>>, String>;

pub struct NetworkConfigs {
    dir: PathBuf,
    state: Mutex<(Option<Fingerprint>, Loaded)>,
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files: Fingerprint = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| (e.path(), m.modified().ok(), m.len())))
        .collect();
    files.sort();
    files
}

impl NetworkConfigs {
    pub fn new(dir: impl Into<PathBuf>) -> NetworkConfigs {
        NetworkConfigs { dir: dir.into(), state: Mutex::new((None, Ok(None))) }
    }

    /// The current pod network, `Ok(None)` when there is none, or why none loads.
    pub fn current(&self) -> Loaded {
        let now = fingerprint(&self.dir);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0.as_ref() != Some(&now) {
            let loaded =
                load_default_network(&self.dir).map(|n| n.map(Arc::new)).map_err(|e| e.to_string());
            if let Ok(Some(net)) = &loaded {
                tracing::info!(network = %net.name, dir = %self.dir.display(), "CNI network config loaded");
            }
            *state = (Some(now), loaded);
        }
        state.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_files_appearing_changing_and_going() {
        let dir = tempfile::tempdir().unwrap();
        let nets = NetworkConfigs::new(dir.path());
        assert!(nets.current().unwrap().is_none());
        let file = dir.path().join("10-a.conflist");
        std::fs::write(
            &file,
            br#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge"}]}"#,
        )
        .unwrap();
        assert_eq!(nets.current().unwrap().unwrap().name, "a");
        std::fs::write(
            &file,
            br#"{"cniVersion":"1.0.0","name":"renamed-a","plugins":[{"type":"bridge"}]}"#,
        )
        .unwrap();
        assert_eq!(
            nets.current().unwrap().unwrap().name,
            "renamed-a",
            "a change in size or time reloads"
        );
        std::fs::remove_file(&file).unwrap();
        assert!(nets.current().unwrap().is_none());
    }
}
