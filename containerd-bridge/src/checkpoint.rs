//! Checkpoint and restore through the runc shim and CRIU: a running task's processes dumped
//! into a directory, a container's writable layer as a tar, and a task created from a dump.

use std::path::Path;

use containerd_client::services::v1::{ApplyRequest, CheckpointTaskRequest, DiffRequest};
use containerd_client::types::{Descriptor, Mount};
use prost_types::Any;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::connection::Containerd;
use crate::container::RuncOptions;
use crate::error::{BridgeError, Result};
use crate::lease::Lease;

/// An uncompressed OCI layer.
const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// The runc shim's checkpoint options (`containerd.runc.v1.CheckpointOptions`).
#[derive(Clone, PartialEq, prost::Message)]
struct RuncCheckpointOptions {
    /// Stop the task after the dump.
    #[prost(bool, tag = "1")]
    exit: bool,
    #[prost(string, tag = "8")]
    image_path: String,
    #[prost(string, tag = "9")]
    work_path: String,
}

fn io_error(op: &'static str) -> impl FnOnce(std::io::Error) -> BridgeError {
    move |e| BridgeError::Invalid { op, detail: e.to_string() }
}

impl Containerd {
    /// Dumps the running task `id` with CRIU into `image_dir`, CRIU's logs into `work_dir`.
    /// The task keeps running.
    pub async fn checkpoint_task(&self, id: &str, image_dir: &Path, work_dir: &Path) -> Result<()> {
        let options = RuncCheckpointOptions {
            exit: false,
            image_path: image_dir.display().to_string(),
            work_path: work_dir.display().to_string(),
        };
        let req = CheckpointTaskRequest {
            container_id: id.into(),
            parent_checkpoint: String::new(),
            options: Some(Any {
                type_url: "containerd.runc.v1.CheckpointOptions".into(),
                value: prost::Message::encode_to_vec(&options),
            }),
        };
        self.tasks().checkpoint(req).await.map_err(BridgeError::rpc("task checkpoint"))?;
        Ok(())
    }

    /// Writes to `out` what the rootfs snapshot `key` changed on top of `parent` (an image's
    /// top chain ID), as an uncompressed layer tar. The diff's blob and the view of `parent`
    /// it compares with belong to `lease`, which the caller deletes.
    pub async fn write_rootfs_diff(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
        out: &Path,
    ) -> Result<()> {
        let view = format!("{key}-diff-base");
        let left = self.view_snapshot(lease, &view, parent).await?;
        let right = self.rootfs_mounts(key).await?;
        let req = DiffRequest {
            left,
            right,
            media_type: LAYER_TAR.into(),
            r#ref: String::new(),
            labels: Default::default(),
            source_date_epoch: None,
        };
        let diff = self.diff(Some(lease)).diff(req).await.map_err(BridgeError::rpc("diff"));
        let written = match diff {
            Ok(reply) => match reply.into_inner().diff {
                Some(blob) => self.copy_blob_to_file(&blob.digest, out).await,
                None => Err(BridgeError::Invalid { op: "diff", detail: "no blob".into() }),
            },
            Err(e) => Err(e),
        };
        let _ = self.remove_snapshot(&view).await;
        written
    }

    /// Applies the uncompressed layer tar at `layer` onto a snapshot's `mounts`; the blob is
    /// stored under `lease` first, as the diff service reads layers from the content store.
    pub async fn apply_layer_file(
        &self,
        lease: &Lease,
        layer: &Path,
        mounts: Vec<Mount>,
    ) -> Result<()> {
        let (digest, size) = file_digest(layer).await?;
        let mut writer = self.content_writer(lease, &digest, size);
        let mut file = tokio::fs::File::open(layer).await.map_err(io_error("read a layer"))?;
        let mut buffer = vec![0u8; 256 << 10];
        loop {
            let n = file.read(&mut buffer).await.map_err(io_error("read a layer"))?;
            if n == 0 {
                break;
            }
            writer.write(&buffer[..n]).await?;
        }
        writer.commit(Default::default()).await?;
        let req = ApplyRequest {
            diff: Some(Descriptor {
                media_type: LAYER_TAR.into(),
                digest,
                size,
                annotations: Default::default(),
            }),
            mounts,
            payloads: Default::default(),
            sync_fs: true,
        };
        self.diff(Some(lease)).apply(req).await.map_err(BridgeError::rpc("diff apply"))?;
        Ok(())
    }

    /// Creates task `id` whose process is restored by CRIU from `image_dir` when it starts.
    /// `options` are the container's runc options, which the task's own replace.
    pub async fn create_restored_task(
        &self,
        id: &str,
        rootfs: Vec<Mount>,
        io: &crate::TaskIo,
        options: RuncOptions,
        image_dir: &Path,
    ) -> Result<u32> {
        let options = RuncOptions { criu_image_path: image_dir.display().to_string(), ..options };
        self.create_task_with(id, rootfs, io, Some(options.to_any())).await
    }
}

/// `sha256:<hex>` and size of a file, read in pieces.
async fn file_digest(path: &Path) -> Result<(String, i64)> {
    let mut file = tokio::fs::File::open(path).await.map_err(io_error("read a layer"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 << 10];
    let mut size = 0i64;
    loop {
        let n = file.read(&mut buffer).await.map_err(io_error("read a layer"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as i64;
    }
    Ok((format!("sha256:{:x}", hasher.finalize()), size))
}
