use containerd_client::services::v1::snapshots::{
    CommitSnapshotRequest, PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest,
};
use containerd_client::services::v1::ApplyRequest;
use containerd_client::types::Descriptor;

use crate::connection::Containerd;
use crate::digest::chain_ids;
use crate::error::{BridgeError, Result};
use crate::lease::Lease;

/// One layer to unpack: its blob (already in the content store) and its uncompressed digest.
#[derive(Debug, Clone)]
pub struct LayerToUnpack {
    pub blob: Descriptor,
    pub diff_id: String,
}

impl Containerd {
    /// Whether a committed snapshot named `key` exists in the configured snapshotter.
    pub async fn snapshot_exists(&self, key: &str) -> Result<bool> {
        let req = StatSnapshotRequest {
            snapshotter: self.snapshotter().to_string(),
            key: key.to_string(),
        };
        match self.snapshots(None).stat(req).await.map_err(BridgeError::rpc("snapshot stat")) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Unpacks `layers` into the snapshotter, each committed under its chain ID; layers whose
    /// snapshot already exists are skipped. Returns the chain ID of the top layer.
    pub async fn unpack(&self, lease: &Lease, layers: &[LayerToUnpack]) -> Result<String> {
        let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
        let chain = chain_ids(&diff_ids);
        for (i, layer) in layers.iter().enumerate() {
            let parent = if i == 0 { "" } else { chain[i - 1].as_str() };
            self.unpack_one(lease, layer, parent, &chain[i]).await?;
        }
        chain
            .last()
            .cloned()
            .ok_or(BridgeError::Invalid { op: "unpack", detail: "image has no layers".into() })
    }

    /// Unpacks one layer onto `parent` as `chain_id`, unless that snapshot exists already (it
    /// is then put under `lease` too, so it stays while we build on it).
    pub async fn unpack_one(
        &self,
        lease: &Lease,
        layer: &LayerToUnpack,
        parent: &str,
        chain_id: &str,
    ) -> Result<()> {
        if self.snapshot_exists(chain_id).await? {
            let kind = format!("snapshots/{}", self.snapshotter());
            return self.lease_existing(lease, &kind, chain_id).await;
        }
        self.unpack_layer(lease, layer, parent, chain_id).await
    }

    async fn unpack_layer(
        &self,
        lease: &Lease,
        layer: &LayerToUnpack,
        parent: &str,
        chain_id: &str,
    ) -> Result<()> {
        let snapshotter = self.snapshotter().to_string();
        let key = format!("cricket-extract-{}-{chain_id}", lease.id());
        let prepare = PrepareSnapshotRequest {
            snapshotter: snapshotter.clone(),
            key: key.clone(),
            parent: parent.to_string(),
            labels: Default::default(),
        };
        let mounts = self
            .snapshots(Some(lease))
            .prepare(prepare)
            .await
            .map_err(BridgeError::rpc("snapshot prepare"))?
            .into_inner()
            .mounts;
        let result = self.apply_and_commit(lease, layer, mounts, &key, chain_id).await;
        if let Err(e) = result {
            let remove = RemoveSnapshotRequest { snapshotter, key };
            let _ = self.snapshots(Some(lease)).remove(remove).await;
            // Another unpack of the same layer committed first: its snapshot serves us too.
            if !e.is_already_exists() {
                return Err(e);
            }
        }
        Ok(())
    }

    async fn apply_and_commit(
        &self,
        lease: &Lease,
        layer: &LayerToUnpack,
        mounts: Vec<containerd_client::types::Mount>,
        key: &str,
        chain_id: &str,
    ) -> Result<()> {
        let apply = ApplyRequest {
            diff: Some(layer.blob.clone()),
            mounts,
            payloads: Default::default(),
            sync_fs: false,
        };
        let applied = self
            .diff(Some(lease))
            .apply(apply)
            .await
            .map_err(BridgeError::rpc("diff apply"))?
            .into_inner();
        let applied_digest = applied.applied.map(|d| d.digest).unwrap_or_default();
        if applied_digest != layer.diff_id {
            return Err(BridgeError::Invalid {
                op: "diff apply",
                detail: format!(
                    "layer {} unpacked to {applied_digest}, config says {}",
                    layer.blob.digest, layer.diff_id
                ),
            });
        }
        let commit = CommitSnapshotRequest {
            snapshotter: self.snapshotter().to_string(),
            name: chain_id.to_string(),
            key: key.to_string(),
            labels: Default::default(),
        };
        self.snapshots(Some(lease))
            .commit(commit)
            .await
            .map_err(BridgeError::rpc("snapshot commit"))?;
        Ok(())
    }
}
