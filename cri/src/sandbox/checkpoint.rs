//! CheckpointPod: the selected running containers of a pod are all paused, each is dumped into
//! a container checkpoint archive (`crate::container::checkpoint_to`), and all are resumed
//! whatever happened, so the archives are one consistent cut of the pod and the pod is never
//! left frozen. The output directory then holds `container-<n>.tar` for each and `pod.json`
//! naming them, written last; on failure, none of them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::v1::{CheckpointPodRequest, CheckpointPodResponse};
use crate::context::Context;
use crate::error::{from_bridge, Error};
use crate::store::containers::{Container, ContainerState};

/// The file of a pod checkpoint that names its containers' archives.
pub const MANIFEST: &str = "pod.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodCheckpoint {
    pub runtime_handler: String,
    pub containers: Vec<CheckpointedMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointedMember {
    /// The container's metadata name, by which RestorePod matches its config.
    pub name: String,
    /// The archive's file name in the checkpoint directory.
    pub archive: String,
}

fn validate(ctx: &Context, req: &CheckpointPodRequest) -> Result<(Vec<Container>, PathBuf), Error> {
    let sandbox = crate::sandbox::ready_sandbox(ctx, &req.pod_sandbox_id)?;
    if let Some(key) = req.options.keys().next() {
        return Err(Error::invalid(
            format!("options[{key:?}]"),
            "cricket takes no checkpoint options",
        ));
    }
    let out = Path::new(&req.output_path);
    let empty = std::fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false);
    if !out.is_absolute() || !empty {
        return Err(Error::invalid(
            "output_path",
            format!(
                "{:?} is not an absolute path to an existing, empty directory",
                req.output_path
            ),
        ));
    }
    if req.container_ids.is_empty() {
        return Err(Error::invalid("container_ids", "empty"));
    }
    let mut seen = HashSet::new();
    let mut containers = Vec::new();
    for (i, id) in req.container_ids.iter().enumerate() {
        let field = format!("container_ids[{i}]");
        if !seen.insert(id) {
            return Err(Error::invalid(field, format!("{id} is named twice")));
        }
        let c = ctx.containers.get(id).ok_or_else(|| crate::error::container_not_found(id))?;
        if c.meta.sandbox_id != sandbox.meta.id {
            return Err(Error::invalid(field, format!("{id} is not in pod {}", sandbox.meta.id)));
        }
        if c.status.state != ContainerState::Running {
            return Err(Error::failed_precondition(format!(
                "{field}: container {id} is not running"
            )));
        }
        containers.push(c);
    }
    Ok((containers, out.to_path_buf()))
}

pub(crate) async fn checkpoint_pod(
    ctx: &Context,
    req: CheckpointPodRequest,
) -> Result<CheckpointPodResponse, Error> {
    let (containers, out) = validate(ctx, &req)?;
    let sandbox = ctx.sandboxes.get(&req.pod_sandbox_id).expect("validated");
    let manifest = PodCheckpoint {
        runtime_handler: sandbox.meta.runtime_handler.clone(),
        containers: containers
            .iter()
            .enumerate()
            .map(|(i, c)| CheckpointedMember {
                name: c.meta.name.clone(),
                archive: format!("container-{i}.tar"),
            })
            .collect(),
    };
    let result = dump_frozen(ctx, &containers, &manifest, &out).await;
    let written = result.and_then(|()| {
        let json = serde_json::to_vec_pretty(&manifest).expect("serialisable");
        std::fs::write(out.join(MANIFEST), json).map_err(|e| Error::internal(MANIFEST, e))
    });
    if written.is_err() {
        for name in manifest.containers.iter().map(|m| m.archive.as_str()).chain([MANIFEST]) {
            let _ = std::fs::remove_file(out.join(name));
        }
    }
    written?;
    tracing::info!(pod = %req.pod_sandbox_id, containers = containers.len(), "pod checkpointed");
    Ok(CheckpointPodResponse {})
}

/// Pauses every container, dumps each into its archive, and resumes every one it paused,
/// whatever failed.
async fn dump_frozen(
    ctx: &Context,
    containers: &[Container],
    manifest: &PodCheckpoint,
    out: &Path,
) -> Result<(), Error> {
    let mut paused = Vec::new();
    let mut result = Ok(());
    for c in containers {
        match ctx.lifecycle.pause_task(&c.meta.id).await {
            Ok(()) => paused.push(c.meta.id.clone()),
            Err(e) => {
                result = Err(from_bridge("pause", e));
                break;
            }
        }
    }
    if result.is_ok() {
        for (c, member) in containers.iter().zip(&manifest.containers) {
            result = crate::container::checkpoint_to(ctx, c, &out.join(&member.archive)).await;
            if result.is_err() {
                break;
            }
        }
    }
    for id in &paused {
        if let Err(e) = ctx.lifecycle.resume_task(id).await {
            tracing::error!(container = %id, error = %e, "could not resume a container after the pod checkpoint");
            result = result.and(Err(from_bridge("resume", e)));
        }
    }
    result
}
