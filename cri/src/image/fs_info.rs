//! ImageFsInfo: the snapshotter's usage, sampled in the background so the call is cheap.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::v1::{FilesystemIdentifier, FilesystemUsage, ImageFsInfoResponse, UInt64Value};
use crate::error::Error;

use crate::context::Context;
use crate::error::from_bridge;

/// How often the usage is recomputed.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

pub(super) async fn image_fs_info(ctx: &Context) -> Result<ImageFsInfoResponse, Error> {
    let usage = match ctx.fs_usage() {
        Some(u) => u,
        None => sample(ctx).await.map_err(|e| from_bridge("snapshotter usage", e))?,
    };
    Ok(ImageFsInfoResponse {
        image_filesystems: vec![usage.clone()],
        container_filesystems: vec![usage],
    })
}

async fn sample(ctx: &Context) -> containerd_bridge::Result<FilesystemUsage> {
    let root = ctx.containerd.snapshotter_root().await?;
    let used = ctx.containerd.snapshot_usage().await?;
    let usage = FilesystemUsage {
        timestamp: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
            as i64,
        fs_id: Some(FilesystemIdentifier { mountpoint: root }),
        used_bytes: Some(UInt64Value { value: used.bytes }),
        inodes_used: Some(UInt64Value { value: used.inodes }),
    };
    ctx.set_fs_usage(usage.clone());
    Ok(usage)
}

/// Keeps the sample fresh for as long as cricket runs.
pub(crate) fn spawn_sampler(ctx: Arc<Context>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = sample(&ctx).await {
                tracing::debug!(error = %e, "could not sample the snapshotter's usage");
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    });
}
