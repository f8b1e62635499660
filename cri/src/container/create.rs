//! CreateContainer: validate, reserve the name, prepare the rootfs snapshot, build the spec,
//! record the container in containerd, persist its status. A failure undoes every step.

use crate::error::Error;
use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::Arc;

use crate::api::v1::{
    ContainerConfig, ContainerEventType, CreateContainerRequest, CreateContainerResponse,
};
use base64::Engine;
use containerd_bridge::NewContainer;
use prost::Message;

use super::joined_namespaces::pod_namespace_paths;
use super::{persist, rootfs};
use crate::context::Context;
use crate::error::from_bridge;
use crate::labels;
use crate::spec::{container_spec, CdiEdits, ContainerSpecOptions, ImageProcess};
use crate::store::containers::{name_key, Container, ContainerMetadata, ContainerStatus, UserIds};
use crate::store::images::ImageEntry;
use crate::store::sandboxes::Sandbox;
use crate::sys::clock::now_ns;

/// `log_directory` joined with `log_path`, refused if it would leave the directory.
fn log_file(dir: &str, path: &str) -> Result<String, Error> {
    if path.is_empty() || dir.is_empty() {
        return Ok(String::new());
    }
    let rel = Path::new(path);
    if rel.is_absolute()
        || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Error::invalid(
            "config.log_path",
            format!("{path:?} leaves the pod's log directory"),
        ));
    }
    Ok(Path::new(dir).join(rel).display().to_string())
}

fn validate(
    ctx: &Context,
    req: &CreateContainerRequest,
) -> Result<(Sandbox, ContainerConfig, ImageEntry), Error> {
    let sandbox = crate::sandbox::ready_sandbox(ctx, &req.pod_sandbox_id)?;
    let config = req.config.clone().ok_or_else(|| Error::invalid("config", "missing"))?;
    let name = config.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
    if name.is_empty() {
        return Err(Error::invalid("config.metadata.name", "empty"));
    }
    let reference = config.image.as_ref().map(|i| i.image.as_str()).unwrap_or_default();
    if reference.is_empty() {
        return Err(Error::invalid("config.image.image", "empty"));
    }
    let privileged = |sc: Option<bool>| sc.unwrap_or(false);
    let wants = privileged(
        config.linux.as_ref().and_then(|l| l.security_context.as_ref()).map(|s| s.privileged),
    );
    let pod_allows = privileged(
        sandbox
            .config
            .linux
            .as_ref()
            .and_then(|l| l.security_context.as_ref())
            .map(|s| s.privileged),
    );
    if wants && !pod_allows {
        return Err(Error::invalid(
            "config.linux.security_context.privileged",
            "the pod sandbox is not privileged",
        ));
    }
    if let Some(i) = config.mounts.iter().position(|m| m.recursive_read_only) {
        let runc = crate::sandbox::runtime_type(ctx, &sandbox.meta.runtime_handler)
            == crate::sandbox::RUNC_SHIM;
        if !(runc && crate::runtime::runc_features::recursive_read_only()) {
            return Err(Error::invalid(
                format!("config.mounts[{i}].recursive_read_only"),
                "not supported by this runtime handler",
            ));
        }
    }
    super::stop_signal::validate(config.stop_signal)?;
    // The OCI spec holds the environment as text.
    if let Some(i) = config.envs.iter().position(|kv| std::str::from_utf8(&kv.value).is_err()) {
        return Err(Error::invalid(format!("config.envs[{i}].value"), "not UTF-8"));
    }
    let image = ctx.images.resolve(reference).ok_or_else(|| {
        Error::not_found(format!("image {reference:?} is not present; pull it first"))
    })?;
    Ok((sandbox, config, image))
}

/// The image as the pod named it (kubelet creates by image ID and passes the pod's name
/// beside it).
fn named_image(config: &ContainerConfig) -> String {
    let spec = config.image.clone().unwrap_or_default();
    if spec.user_specified_image.is_empty() {
        spec.image
    } else {
        spec.user_specified_image
    }
}

pub(crate) async fn create_container(
    ctx: &Context,
    mut req: CreateContainerRequest,
) -> Result<CreateContainerResponse, Error> {
    let restore = req.config.as_ref().and_then(super::restore::archive_of);
    if let (Some(archive), Some(config)) = (&restore, req.config.as_mut()) {
        super::restore::retarget(config, archive).await?;
    }
    let (sandbox, config, image) = validate(ctx, &req)?;
    // Before anything is made: an unknown device leaves nothing behind.
    let cdi = cdi_edits(ctx, &config).await?;
    let m = config.metadata.clone().unwrap_or_default();
    let log_path = log_file(&sandbox.config.log_directory, &config.log_path)?;
    let id = crate::sys::random::new_id().map_err(|e| Error::internal("a new container ID", e))?;
    crate::rpc_ids::record_new("container", &id);
    let key = name_key(&sandbox.meta.id, &m.name, m.attempt);
    if let Err(holder) = ctx.containers.reserve_name(&key, &id) {
        return Err(Error::already_exists(format!(
            "container name {:?} is reserved for {holder}",
            key
        )));
    }
    let mut meta = ContainerMetadata {
        id: id.clone(),
        sandbox_id: sandbox.meta.id.clone(),
        name: m.name.clone(),
        attempt: m.attempt,
        config: base64::engine::general_purpose::STANDARD.encode(config.encode_to_vec()),
        image_ref: config.image.as_ref().map(|i| i.image.clone()).unwrap_or_default(),
        image_name: image.tag_for(&named_image(&config)).unwrap_or_default(),
        image_id: image.id.clone(),
        log_path,
        created_at_ns: now_ns(),
        user: None,
        image_volumes: Vec::new(),
        stop_signal: super::stop_signal::resolve(config.stop_signal, &image),
    };
    let made = Made { sandbox: &sandbox, image: &image, cdi: &cdi };
    match create(ctx, made, &config, &mut meta, restore.as_deref()).await {
        Ok(()) => {
            let status = ContainerStatus::created();
            ctx.containers.insert(Container { meta, config: Arc::new(config), status });
            crate::cri_events::emit(
                ctx,
                &id,
                &sandbox.meta.id,
                ContainerEventType::ContainerCreatedEvent,
            );
            tracing::info!(pod = %sandbox.meta.id, container = %id, "container created");
            Ok(CreateContainerResponse { container_id: id })
        }
        Err(e) => {
            crate::janitor::remove_or_leave(ctx, &id).await;
            let _ = persist::remove_dirs(ctx, &id);
            ctx.containers.release_name(&key, &id);
            Err(e)
        }
    }
}

/// The node's security modules, with cricket's default AppArmor profile loaded (once) where
/// the node runs AppArmor.
async fn node_lsm(ctx: &Context) -> crate::spec::lsm::NodeLsm {
    if !ctx.lsm.apparmor {
        return ctx.lsm;
    }
    let apparmor_default =
        tokio::task::spawn_blocking(crate::apparmor::default_profile).await.unwrap_or(None);
    crate::spec::lsm::NodeLsm { apparmor_default, ..ctx.lsm }
}

/// The edits of the CDI devices `config` asks for, read from the node's specs.
async fn cdi_edits(ctx: &Context, config: &ContainerConfig) -> Result<Vec<CdiEdits>, Error> {
    let requests = crate::cdi::requested(config);
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let registry = ctx.cdi.clone();
    Ok(crate::sys::blocking::off_workers(move || registry.resolve(&requests)).await?)
}

/// What the container is made from, looked up before anything is made.
#[derive(Clone, Copy)]
struct Made<'a> {
    sandbox: &'a Sandbox,
    image: &'a ImageEntry,
    cdi: &'a [CdiEdits],
}

async fn create(
    ctx: &Context,
    made: Made<'_>,
    config: &ContainerConfig,
    meta: &mut ContainerMetadata,
    restore: Option<&Path>,
) -> Result<(), Error> {
    let Made { sandbox, image, cdi } = made;
    let c = &ctx.lifecycle;
    let lsm = node_lsm(ctx).await;
    let id = &meta.id.clone();
    let namespaces = pod_namespace_paths(ctx, sandbox, config)?;
    let lease = c
        .create_lease("container", std::time::Duration::from_secs(600))
        .await
        .map_err(|e| from_bridge("lease", e))?;
    let state_dir = persist::state_dir(ctx, id);
    let mut views = Vec::new();
    let result = async {
        let config =
            super::image_volumes::prepare(ctx, id, &state_dir, &lease, config.clone(), &mut views)
                .await?;
        meta.image_volumes = views.iter().map(|(_, v)| v.clone()).collect();
        // Host paths are made and their propagation changed (a mount syscall): off the workers.
        let config =
            crate::sys::blocking::off_workers(move || super::host_paths::prepared(&config)).await?;
        // The rootfs snapshot keeps the image volumes' views once the lease is gone.
        let snapshotter = &ctx.config.containerd.snapshotter;
        let mut labels: HashMap<String, String> = views
            .iter()
            .map(|(i, v)| (super::image_volumes::reference_label(snapshotter, *i), v.key.clone()))
            .collect();
        // In a pod with its own user namespace the image's files are shifted to its IDs.
        if let Some(mappings) = crate::sandbox::userns::of_pod(&sandbox.config) {
            labels.extend(crate::sandbox::userns::snapshot_labels(&mappings));
        }
        let mounts = c
            .prepare_rootfs(&lease, id, &crate::image::top_chain_id(&image.config)?, labels)
            .await
            .map_err(|e| from_bridge("prepare rootfs", e))?;
        if let Some(archive) = restore {
            super::restore::unpack(ctx, id, &lease, archive, mounts.clone()).await?;
        }
        let image_process = ImageProcess::from_config(&image.config);
        let users = rootfs::image_users(&mounts);
        let sandbox_dir = crate::sandbox::persist::dir(ctx, &sandbox.meta.id);
        let shm = crate::sandbox::pod_shm(&sandbox_dir, &sandbox.config);
        let options = ContainerSpecOptions {
            id,
            sandbox_id: &sandbox.meta.id,
            sandbox: &sandbox.config,
            image: &image_process,
            image_name: &meta.image_ref,
            users: &users,
            namespaces,
            etc_files: Some(crate::sandbox::etc_file_paths(&sandbox_dir)),
            shm: shm.as_deref(),
            systemd_cgroup: ctx.config.systemd_cgroup(),
            hugetlb: ctx.hugetlb,
            daemon_oom_score_adj: crate::sys::process::own_oom_score_adj(),
            lsm,
            cdi,
        };
        let spec = container_spec(&config, &options)?;
        meta.user = spec.process().as_ref().map(|p| {
            let u = p.user();
            UserIds {
                uid: u.uid(),
                gid: u.gid(),
                groups: u.additional_gids().clone().unwrap_or_default(),
            }
        });
        let record = NewContainer {
            id: id.clone(),
            labels: HashMap::from([
                (labels::KIND.to_string(), labels::KIND_CONTAINER.to_string()),
                (labels::SANDBOX_ID.to_string(), sandbox.meta.id.clone()),
                (labels::METADATA_VERSION.to_string(), "1".to_string()),
            ]),
            image: meta.image_ref.clone(),
            runtime_type: crate::sandbox::runtime_type(ctx, &sandbox.meta.runtime_handler),
            runtime_options: crate::sandbox::runtime_options(ctx, &sandbox.meta.runtime_handler),
            spec: serde_json::to_vec(&spec).expect("serialisable"),
            snapshot_key: id.clone(),
            extensions: HashMap::from([(
                labels::METADATA_EXTENSION.to_string(),
                persist::metadata_extension(meta),
            )]),
        };
        c.create_container(Some(&lease), &record)
            .await
            .map_err(|e| from_bridge("create container", e))?;
        persist::save_status(ctx, id, &ContainerStatus::created())
            .map_err(|e| Error::internal("persist status", e))
    }
    .await;
    if result.is_err() {
        let made: Vec<_> = views.into_iter().map(|(_, v)| v).collect();
        if let Err(e) = super::image_volumes::release(ctx, &state_dir, &made).await {
            tracing::warn!(container = %id, error = %e, "undo image volumes");
        }
    }
    if c.delete_lease(&lease, false).await.is_err() {
        ctx.janitor.leave_lease(lease.id());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_path_may_not_leave_the_directory() {
        assert_eq!(log_file("/var/log/pods/p", "app/0.log").unwrap(), "/var/log/pods/p/app/0.log");
        assert_eq!(log_file("", "app/0.log").unwrap(), "");
        for bad in ["../x.log", "/etc/passwd", "a/../../b"] {
            assert!(
                log_file("/var/log/pods/p", bad).unwrap_err().message().contains("config.log_path"),
                "{bad}"
            );
        }
    }
}
