use std::collections::HashMap;
use std::time::Duration;

use crate::connection::Containerd;
use crate::digest::chain_ids;
use crate::error::Result;
use crate::gc_labels;
use crate::image_store::ImageRecord;
use crate::lease::Lease;
use crate::oci_image::BuiltImage;
use crate::unpack::LayerToUnpack;

/// How an imported image is recorded.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// A lease that outlives any sane import, yet expires if cricket dies midway.
const IMPORT_LEASE_TTL: Duration = Duration::from_secs(3600);

impl Containerd {
    /// Whether `name` already points at this image and its top layer is unpacked.
    pub async fn image_is_current(&self, image: &BuiltImage, opts: &ImportOptions) -> Result<bool> {
        let Some(record) = self.get_image(&opts.name).await? else { return Ok(false) };
        let labelled = opts.labels.iter().all(|(k, v)| record.labels.get(k) == Some(v));
        if record.target.digest != image.manifest.digest || !labelled {
            return Ok(false);
        }
        let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
        match chain_ids(&diff_ids).last() {
            Some(top) => self.snapshot_exists(top).await,
            None => Ok(true),
        }
    }

    /// Writes an in-memory image into containerd: blobs with their GC labels, unpacked layers,
    /// and last the image record. Idempotent; everything is made under a lease so a failure
    /// part-way leaves nothing that outlives it.
    pub async fn import_image(&self, image: &BuiltImage, opts: &ImportOptions) -> Result<()> {
        let lease = self.create_lease("import", IMPORT_LEASE_TTL).await?;
        let result = self.import_under_lease(&lease, image, opts).await;
        if let Err(e) = self.delete_lease(&lease, result.is_err()).await {
            tracing::warn!(lease = lease.id(), error = %e, "could not delete import lease; it will expire");
        }
        result
    }

    async fn import_under_lease(
        &self,
        lease: &Lease,
        image: &BuiltImage,
        opts: &ImportOptions,
    ) -> Result<()> {
        for layer in &image.layers {
            self.ensure_blob(lease, &layer.blob.digest, &layer.blob.data, HashMap::new()).await?;
        }
        let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
        let top_chain = chain_ids(&diff_ids).pop().unwrap_or_default();
        let config_labels =
            HashMap::from([(gc_labels::ref_snapshot(self.snapshotter()), top_chain)]);
        self.ensure_blob(lease, &image.config.digest, &image.config.data, config_labels).await?;
        let mut manifest_labels =
            HashMap::from([(gc_labels::REF_CONFIG.to_string(), image.config.digest.clone())]);
        for (i, layer) in image.layers.iter().enumerate() {
            manifest_labels.insert(gc_labels::ref_layer(i), layer.blob.digest.clone());
        }
        self.ensure_blob(lease, &image.manifest.digest, &image.manifest.data, manifest_labels)
            .await?;
        let layers: Vec<LayerToUnpack> = image
            .layers
            .iter()
            .map(|l| LayerToUnpack { blob: l.blob.descriptor(), diff_id: l.diff_id.clone() })
            .collect();
        self.unpack(lease, &layers).await?;
        let record = ImageRecord {
            name: opts.name.clone(),
            target: image.manifest.descriptor(),
            labels: opts.labels.clone(),
        };
        self.put_image(&record).await
    }
}
