//! What an image record points at, resolved for this platform: manifest, config and size.

use containerd_client::types::Descriptor;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};
use crate::image_store::ImageRecord;
use crate::pull::{Document, HostPlatform};

/// An image record resolved to this platform's manifest and config.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDetails {
    pub manifest_digest: String,
    pub config_digest: String,
    /// The image config JSON.
    pub config: Vec<u8>,
    /// Bytes of manifest, config and layers as stored (compressed).
    pub size: u64,
    pub layers: Vec<String>,
}

impl Containerd {
    /// Reads the manifest (choosing this platform from an index) and config of `record`.
    pub async fn image_details(&self, record: &ImageRecord) -> Result<ImageDetails> {
        let invalid = |detail: String| BridgeError::Invalid {
            op: "image details",
            detail: format!("{}: {detail}", record.name),
        };
        let mut target: Descriptor = record.target.clone();
        let mut bytes = self.read_blob(&target.digest).await?;
        let mut doc = Document::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
        if let Document::Index(index) = &doc {
            let (_, entry) = HostPlatform::current()
                .select(index)
                .ok_or_else(|| invalid("no manifest for this platform".into()))?;
            target = Descriptor {
                media_type: entry.media_type.clone(),
                digest: entry.digest.clone(),
                size: entry.size,
                annotations: Default::default(),
            };
            bytes = self.read_blob(&target.digest).await?;
            doc = Document::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
        }
        let Document::Manifest(manifest) = doc else {
            return Err(invalid("an index inside an index".into()));
        };
        let config = self.read_blob(&manifest.config.digest).await?;
        let layer_bytes: i64 = manifest.layers.iter().map(|l| l.size).sum();
        Ok(ImageDetails {
            manifest_digest: target.digest,
            config_digest: manifest.config.digest.clone(),
            size: (bytes.len() as i64 + manifest.config.size + layer_bytes).max(0) as u64,
            layers: manifest.layers.iter().map(|l| l.digest.clone()).collect(),
            config,
        })
    }
}
