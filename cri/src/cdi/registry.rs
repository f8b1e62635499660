//! The CDI specs of the node: every spec file of the configured directories, re-read when a
//! file in them is added, removed or changed (checked on each lookup: a few stats), so that a
//! device plugin's new spec applies without a restart. Later directories win over earlier
//! ones for the same device; two files of one directory defining it is a conflict.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::names::parse_qualified;
use super::resolve::resolve_edits;
use super::spec_file::{is_spec_file, parse, ContainerEdits};
use super::Request;
use crate::spec::CdiEdits;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdiError {
    #[error("{field}: {reason}")]
    BadName { field: String, reason: String },
    #[error("{field}: CDI device {name:?} is not defined by any spec in {dirs}{broken}")]
    Unknown { field: String, name: String, dirs: String, broken: String },
    #[error("{field}: CDI device {name:?} is defined by both {first} and {second}")]
    Conflict { field: String, name: String, first: String, second: String },
    #[error("{field}: CDI device {name:?} (spec {spec}): {reason}")]
    Unusable { field: String, name: String, spec: String, reason: String },
}

/// One device as the specs define it.
#[derive(Debug, Clone)]
struct Definition {
    spec: PathBuf,
    dir: usize,
    spec_edits: Arc<ContainerEdits>,
    edits: ContainerEdits,
    conflict: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct Loaded {
    devices: HashMap<String, Definition>,
    /// Files that did not parse, and why.
    broken: Vec<(PathBuf, String)>,
}

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

pub struct Registry {
    dirs: Vec<PathBuf>,
    state: Mutex<(Option<Fingerprint>, Arc<Loaded>)>,
}

fn spec_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_spec_file(p))
        .collect();
    files.sort();
    files
}

fn fingerprint(dirs: &[PathBuf]) -> Fingerprint {
    dirs.iter()
        .flat_map(|d| spec_files(d))
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let (modified, len) = meta.map_or((None, 0), |m| (m.modified().ok(), m.len()));
            (p, modified, len)
        })
        .collect()
}

fn load(dirs: &[PathBuf]) -> Loaded {
    let mut loaded = Loaded::default();
    for (dir, path) in
        dirs.iter().enumerate().flat_map(|(i, d)| spec_files(d).into_iter().map(move |p| (i, p)))
    {
        let spec = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| parse(&path, &t))
        {
            Ok(spec) => spec,
            Err(e) => {
                tracing::warn!(spec = %path.display(), error = %e, "CDI spec ignored");
                loaded.broken.push((path, e));
                continue;
            }
        };
        let spec_edits = Arc::new(spec.container_edits.clone());
        for device in spec.devices {
            let qualified = format!("{}={}", spec.kind, device.name);
            let conflict = match loaded.devices.get(&qualified) {
                Some(old) if old.dir == dir => Some(old.spec.clone()),
                _ => None,
            };
            let definition = Definition {
                spec: path.clone(),
                dir,
                spec_edits: spec_edits.clone(),
                edits: device.container_edits,
                conflict,
            };
            loaded.devices.insert(qualified, definition);
        }
    }
    loaded
}

impl Registry {
    pub fn new(dirs: Vec<PathBuf>) -> Registry {
        Registry { dirs, state: Mutex::new((None, Arc::new(Loaded::default()))) }
    }

    fn current(&self) -> Arc<Loaded> {
        let now = fingerprint(&self.dirs);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0.as_ref() != Some(&now) {
            let loaded = load(&self.dirs);
            tracing::info!(
                devices = loaded.devices.len(),
                broken = loaded.broken.len(),
                "CDI specs loaded"
            );
            *state = (Some(now), Arc::new(loaded));
        }
        state.1.clone()
    }

    /// The edits of every requested device, with each spec's own edits once, before its
    /// first device's. Reads the device nodes' host files: call off the async workers.
    pub fn resolve(&self, requests: &[Request]) -> Result<Vec<CdiEdits>, CdiError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let loaded = self.current();
        let mut out = Vec::new();
        let mut specs_seen: Vec<&Path> = Vec::new();
        for r in requests {
            let d = self.definition(&loaded, r)?;
            let unusable = |reason: String| CdiError::Unusable {
                field: r.field.clone(),
                name: r.name.clone(),
                spec: d.spec.display().to_string(),
                reason,
            };
            if !specs_seen.contains(&d.spec.as_path()) {
                specs_seen.push(&d.spec);
                out.push(resolve_edits(&d.spec_edits).map_err(unusable)?);
            }
            out.push(resolve_edits(&d.edits).map_err(unusable)?);
        }
        Ok(out)
    }

    fn definition<'a>(&self, loaded: &'a Loaded, r: &Request) -> Result<&'a Definition, CdiError> {
        parse_qualified(&r.name)
            .map_err(|reason| CdiError::BadName { field: r.field.clone(), reason })?;
        let Some(d) = loaded.devices.get(&r.name) else {
            let dirs =
                self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
            let broken: String = loaded
                .broken
                .iter()
                .map(|(p, e)| format!("; spec {} does not parse: {e}", p.display()))
                .collect();
            return Err(CdiError::Unknown {
                field: r.field.clone(),
                name: r.name.clone(),
                dirs,
                broken,
            });
        };
        if let Some(first) = &d.conflict {
            return Err(CdiError::Conflict {
                field: r.field.clone(),
                name: r.name.clone(),
                first: first.display().to_string(),
                second: d.spec.display().to_string(),
            });
        }
        Ok(d)
    }
}
