//! How much the snapshotter holds, for ImageFsInfo, and one snapshot, for a container's
//! writable layer.

use containerd_client::services::v1::snapshots::{ListSnapshotsRequest, UsageRequest};
use containerd_client::services::v1::{Plugin, PluginsRequest};

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};

/// Bytes and inodes used by every snapshot of the configured snapshotter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotUsage {
    pub bytes: u64,
    pub inodes: u64,
}

impl Containerd {
    /// What containerd's introspection says of the configured snapshotter.
    async fn snapshotter_plugins(&self) -> Result<Vec<Plugin>> {
        let filter = format!("type==io.containerd.snapshotter.v1,id=={}", self.snapshotter());
        let reply = self
            .introspection()
            .plugins(PluginsRequest { filters: vec![filter] })
            .await
            .map_err(BridgeError::rpc("introspect plugins"))?;
        Ok(reply.into_inner().plugins)
    }

    /// The directory the configured snapshotter keeps its data in.
    pub async fn snapshotter_root(&self) -> Result<String> {
        self.snapshotter_plugins()
            .await?
            .into_iter()
            .find_map(|p| p.exports.get("root").cloned())
            .ok_or_else(|| BridgeError::Invalid {
                op: "introspect plugins",
                detail: format!("snapshotter {} exports no root", self.snapshotter()),
            })
    }

    /// What the configured snapshotter says it can do (`remap-ids`: idmapped mounts of its
    /// layers, which containerd 2.x's overlayfs offers where the kernel has them).
    pub async fn snapshotter_capabilities(&self) -> Result<Vec<String>> {
        Ok(self.snapshotter_plugins().await?.into_iter().flat_map(|p| p.capabilities).collect())
    }

    /// The sum of every snapshot's usage.
    pub async fn snapshot_usage(&self) -> Result<SnapshotUsage> {
        let snapshotter = self.snapshotter().to_string();
        let mut stream = self
            .snapshots(None)
            .list(ListSnapshotsRequest { snapshotter: snapshotter.clone(), filters: vec![] })
            .await
            .map_err(BridgeError::rpc("snapshot list"))?
            .into_inner();
        let mut keys = Vec::new();
        while let Some(page) = stream.message().await.map_err(BridgeError::rpc("snapshot list"))? {
            keys.extend(page.info.into_iter().map(|i| i.name));
        }
        let mut total = SnapshotUsage::default();
        for key in keys {
            // One removed meanwhile counts nothing.
            if let Some(u) = self.snapshot_key_usage(&key).await? {
                total.bytes += u.bytes;
                total.inodes += u.inodes;
            }
        }
        Ok(total)
    }

    /// The usage of one snapshot (a container's writable layer); `None` if it is gone.
    pub async fn snapshot_key_usage(&self, key: &str) -> Result<Option<SnapshotUsage>> {
        let req =
            UsageRequest { snapshotter: self.snapshotter().to_string(), key: key.to_string() };
        match self.snapshots(None).usage(req).await.map_err(BridgeError::rpc("snapshot usage")) {
            Ok(u) => {
                let u = u.into_inner();
                Ok(Some(SnapshotUsage {
                    bytes: u.size.max(0) as u64,
                    inodes: u.inodes.max(0) as u64,
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
