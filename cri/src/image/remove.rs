//! RemoveImage: by any reference, every name of the image goes; an absent image is success.

use k8s_cri::v1::{RemoveImageRequest, RemoveImageResponse};
use tonic::Status;

use crate::context::Context;
use crate::errors::from_bridge;

pub(super) async fn remove_image(
    ctx: &Context,
    req: RemoveImageRequest,
) -> Result<RemoveImageResponse, Status> {
    let reference = req.image.map(|i| i.image).unwrap_or_default();
    if reference.trim().is_empty() {
        return Err(Status::invalid_argument("image.image: the image reference is empty"));
    }
    let Some(entry) = ctx.images.resolve(&reference) else { return Ok(RemoveImageResponse {}) };
    let last = entry.records.len().saturating_sub(1);
    for (i, name) in entry.records.iter().enumerate() {
        // The last deletion collects the content and snapshots only this image held.
        ctx.containerd
            .delete_image(name, i == last)
            .await
            .map_err(|e| from_bridge(&format!("remove image {name}"), e))?;
    }
    ctx.images.remove(&entry.id);
    tracing::info!(image = %reference, id = %entry.id, "removed");
    Ok(RemoveImageResponse {})
}
