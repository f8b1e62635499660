//! RestorePod: a new pod sandbox from the request's config and, in it, one container per
//! checkpointed container (`super::checkpoint`), each created from its archive with the
//! request's config of the same name. They are left CREATED: StartContainer restores each
//! process. On failure the pod, and whatever the call created in it, is removed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::api::v1::{
    ContainerConfig, CreateContainerRequest, RemovePodSandboxRequest, RestorePodRequest,
    RestorePodResponse, RestoredContainer, RunPodSandboxRequest, StopPodSandboxRequest,
};
use crate::context::Context;
use crate::detached::CallerGone;
use crate::error::Error;

use super::checkpoint::{PodCheckpoint, MANIFEST};

fn read_manifest(dir: &Path) -> Result<PodCheckpoint, Error> {
    let bad = |why: String| Error::invalid("checkpoint_path", format!("{}: {why}", dir.display()));
    if !dir.is_absolute() {
        return Err(bad("not an absolute path".into()));
    }
    let text = std::fs::read(dir.join(MANIFEST)).map_err(|e| bad(format!("{MANIFEST}: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| bad(format!("{MANIFEST}: {e}")))
}

/// Each config paired with its container's archive, matched by metadata name.
async fn pair(
    ctx: &Context,
    dir: &Path,
    manifest: &PodCheckpoint,
    configs: &[ContainerConfig],
) -> Result<Vec<(ContainerConfig, PathBuf)>, Error> {
    if configs.is_empty() {
        return Err(Error::invalid("container_configs", "empty"));
    }
    let archives: HashMap<&str, &str> =
        manifest.containers.iter().map(|m| (m.name.as_str(), m.archive.as_str())).collect();
    let mut names = HashSet::new();
    let mut paired = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let name = config.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
        let field = format!("container_configs[{i}]");
        if name.is_empty() || !names.insert(name) {
            return Err(Error::invalid(format!("{field}.metadata.name"), "empty or named twice"));
        }
        let archive = archives.get(name).ok_or_else(|| {
            Error::invalid(
                format!("{field}.metadata.name"),
                format!("{name:?} is not in the checkpoint"),
            )
        })?;
        let archive = dir.join(archive);
        let taken_on = crate::container::checkpoint_image_of(&archive).await.map_err(|e| {
            Error::invalid("checkpoint_path", format!("{}: {e}", archive.display()))
        })?;
        let asked = config.image.as_ref().map(|i| i.image.as_str()).unwrap_or_default();
        let asked_id = ctx.images.resolve(asked).map(|i| i.id);
        if asked_id.as_deref() != Some(taken_on.as_str()) {
            return Err(Error::invalid(
                format!("{field}.image.image"),
                format!("{asked:?} is not the image {name:?} was checkpointed on ({taken_on})"),
            ));
        }
        paired.push((config.clone(), archive));
    }
    if names.len() != archives.len() {
        return Err(Error::invalid(
            "container_configs",
            "not every checkpointed container has a config",
        ));
    }
    Ok(paired)
}

pub(crate) async fn restore_pod(
    ctx: &Context,
    req: RestorePodRequest,
    gone: CallerGone,
) -> Result<RestorePodResponse, Error> {
    if let Some(key) = req.options.keys().next() {
        return Err(Error::invalid(
            format!("options[{key:?}]"),
            "cricket takes no restore options",
        ));
    }
    let dir = PathBuf::from(&req.checkpoint_path);
    let manifest = read_manifest(&dir)?;
    let handler = |name: &str| super::runtime_type(ctx, name);
    if handler(&req.runtime_handler) != handler(&manifest.runtime_handler) {
        return Err(Error::invalid(
            "runtime_handler",
            format!("the checkpoint was taken with handler {:?}", manifest.runtime_handler),
        ));
    }
    let paired = pair(ctx, &dir, &manifest, &req.container_configs).await?;
    let config = req.config.clone().ok_or_else(|| Error::invalid("config", "missing"))?;
    let run =
        RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: req.runtime_handler };
    let pod = super::run_pod_sandbox(ctx, run, gone).await?.pod_sandbox_id;
    let mut restored = Vec::new();
    for (mut container, archive) in paired {
        let name = container.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        container.image.get_or_insert_with(Default::default).image = archive.display().to_string();
        let create = CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container),
            sandbox_config: Some(config.clone()),
        };
        match crate::container::create_container(ctx, create).await {
            Ok(reply) => {
                restored.push(RestoredContainer { name, container_id: reply.container_id })
            }
            Err(e) => {
                remove_pod(ctx, &pod).await;
                return Err(e);
            }
        }
    }
    tracing::info!(pod = %pod, containers = restored.len(), "pod restored (its containers created)");
    Ok(RestorePodResponse { pod_sandbox_id: pod, restored_containers: restored })
}

async fn remove_pod(ctx: &Context, pod: &str) {
    let stop = StopPodSandboxRequest { pod_sandbox_id: pod.into() };
    let removed = match super::stop_pod_sandbox(ctx, stop).await {
        Ok(_) => {
            super::remove_pod_sandbox(ctx, RemovePodSandboxRequest { pod_sandbox_id: pod.into() })
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    };
    if let Err(e) = removed {
        tracing::warn!(pod = %pod, error = %e, "could not remove the pod of a failed restore; kubelet's stop and remove retry it");
    }
}
