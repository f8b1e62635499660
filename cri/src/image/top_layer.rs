//! The snapshot a container's rootfs starts from: the image's top layer, by chain ID.

use crate::error::Error;
use containerd_bridge::chain_ids;
use containerd_bridge::pull::diff_ids;

/// The chain ID of the image's top layer (the parent of its containers' snapshots).
pub fn top_chain_id(image_config: &[u8]) -> Result<String, Error> {
    let v: serde_json::Value = serde_json::from_slice(image_config).unwrap_or_default();
    let layers = v["rootfs"]["diff_ids"].as_array().map_or(0, Vec::len);
    let ids = diff_ids(image_config, layers).map_err(|e| Error::internal("image config", e))?;
    Ok(chain_ids(&ids).pop().unwrap_or_default())
}
