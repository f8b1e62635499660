//! CheckpointContainer: a running container's processes dumped by CRIU (through the runc
//! shim, which leaves them running), its writable layer, spec, config and status, packed into
//! the archive at the location kubelet gives (`super::checkpoint_archive`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::api::v1::{CheckpointContainerRequest, CheckpointContainerResponse};
use crate::context::Context;
use crate::error::{from_bridge, Error};
use crate::store::containers::{Container, ContainerState};

use super::checkpoint_archive::{self as archive, CheckpointedContainer};

fn validate(
    ctx: &Context,
    req: &CheckpointContainerRequest,
) -> Result<(Container, PathBuf), Error> {
    if req.container_id.is_empty() {
        return Err(Error::invalid("container_id", "empty"));
    }
    let location = Path::new(&req.location);
    if !location.is_absolute() {
        return Err(Error::invalid(
            "location",
            format!("{:?} is not an absolute path", req.location),
        ));
    }
    if location.is_dir() {
        return Err(Error::invalid("location", format!("{:?} is a directory", req.location)));
    }
    let c = ctx
        .containers
        .get(&req.container_id)
        .ok_or_else(|| crate::error::container_not_found(&req.container_id))?;
    if c.status.state != ContainerState::Running {
        return Err(Error::failed_precondition(format!(
            "container {} is {:?}: only a running container can be checkpointed",
            c.meta.id, c.status.state
        )));
    }
    Ok((c, location.to_path_buf()))
}

pub(crate) async fn checkpoint_container(
    ctx: &Context,
    req: CheckpointContainerRequest,
) -> Result<CheckpointContainerResponse, Error> {
    let (c, location) = validate(ctx, &req)?;
    checkpoint_to(ctx, &c, &location).await?;
    tracing::info!(container = %c.meta.id, location = %location.display(), "container checkpointed");
    Ok(CheckpointContainerResponse {})
}

/// Writes the archive of running (or paused) container `c` to `location`.
pub(crate) async fn checkpoint_to(
    ctx: &Context,
    c: &Container,
    location: &Path,
) -> Result<(), Error> {
    let suffix =
        crate::sys::random::new_id().map_err(|e| Error::internal("a work directory", e))?;
    // Under root_dir: CRIU's images can be large, and state_dir is a tmpfs.
    let dir = super::persist::dir(ctx, &c.meta.id).join(format!("checkpoint-{}", &suffix[..12]));
    let result = checkpoint(ctx, c, &dir, location).await;
    crate::sys::blocking::run(move || {
        let _ = std::fs::remove_dir_all(dir);
    });
    result
}

/// The image ID a checkpoint archive was taken on.
pub(crate) async fn image_of(archive: &Path) -> std::io::Result<String> {
    let path = archive.to_path_buf();
    let config =
        crate::sys::blocking::off_workers(move || super::checkpoint_archive::read_config(&path));
    Ok(config.await?.rootfs_image_ref)
}

async fn checkpoint(
    ctx: &Context,
    c: &Container,
    dir: &Path,
    location: &Path,
) -> Result<(), Error> {
    let id = &c.meta.id;
    let (images, work) = (dir.join(archive::CRIU_IMAGES), dir.join("work"));
    for d in [&images, &work] {
        std::fs::create_dir_all(d).map_err(|e| Error::internal("a checkpoint directory", e))?;
    }
    let checkpointed_at = SystemTime::now();
    let dumped = ctx.lifecycle.checkpoint_task(id, &images, &work).await;
    // CRIU's log says why a dump failed, and belongs in the archive when it did not.
    let _ = std::fs::rename(work.join(archive::DUMP_LOG), dir.join(archive::DUMP_LOG));
    dumped.map_err(|e| match e.code() {
        Some(tonic::Code::NotFound) => {
            Error::failed_precondition(format!("container {id} has no running task"))
        }
        _ => from_bridge("checkpoint (CRIU dump)", e),
    })?;
    std::fs::remove_dir_all(&work).map_err(|e| Error::internal("a checkpoint directory", e))?;
    write_rootfs_diff(ctx, c, &dir.join(archive::ROOTFS_DIFF)).await?;
    write_dumps(ctx, c, dir, checkpointed_at).await?;
    let (dir, location) = (dir.to_path_buf(), location.to_path_buf());
    crate::sys::blocking::off_workers(move || {
        archive::pack(&dir, &location)
            .map_err(|e| Error::internal("write the checkpoint archive", e))
    })
    .await
}

/// The container's changes to its image, under a lease that holds the diff's blob and view.
async fn write_rootfs_diff(ctx: &Context, c: &Container, out: &Path) -> Result<(), Error> {
    let image = ctx.images.resolve(&c.meta.image_id).ok_or_else(|| {
        Error::failed_precondition(format!("the container's image {} is gone", c.meta.image_id))
    })?;
    let parent = crate::image::top_chain_id(&image.config)?;
    let cd = &ctx.lifecycle;
    let lease = cd
        .create_lease("checkpoint", std::time::Duration::from_secs(600))
        .await
        .map_err(|e| from_bridge("lease", e))?;
    let written = cd.write_rootfs_diff(&lease, &c.meta.id, &parent, out).await;
    if cd.delete_lease(&lease, false).await.is_err() {
        ctx.janitor.leave_lease(lease.id());
    }
    written.map_err(|e| from_bridge("the container's rootfs diff", e))
}

async fn write_dumps(
    ctx: &Context,
    c: &Container,
    dir: &Path,
    at: SystemTime,
) -> Result<(), Error> {
    let record = ctx
        .lifecycle
        .get_container(&c.meta.id)
        .await
        .map_err(|e| from_bridge("container record", e))?
        .ok_or_else(|| crate::error::container_not_found(&c.meta.id))?;
    let spec = record.spec.map(|s| s.value).unwrap_or_default();
    let config = CheckpointedContainer {
        id: c.meta.id.clone(),
        name: c.meta.name.clone(),
        rootfs_image: c.meta.image_ref.clone(),
        rootfs_image_ref: c.meta.image_id.clone(),
        rootfs_image_name: c.meta.image_name.clone(),
        runtime: record.runtime.map(|r| r.name).unwrap_or_default(),
        created_time: rfc3339(c.meta.created_at_ns),
        checkpointed_at: humantime::format_rfc3339_nanos(at).to_string(),
    };
    let status = super::cri_status(ctx, c);
    let files = [
        (archive::SPEC_DUMP, spec),
        (archive::CONFIG_DUMP, serde_json::to_vec(&config).expect("serialisable")),
        (archive::STATUS_DUMP, serde_json::to_vec(&status).expect("serialisable")),
    ];
    for (name, data) in files {
        std::fs::write(dir.join(name), data).map_err(|e| Error::internal(name, e))?;
    }
    Ok(())
}

fn rfc3339(ns: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(ns.max(0) as u64);
    humantime::format_rfc3339_nanos(at).to_string()
}
