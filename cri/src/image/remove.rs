//! RemoveImage: by any reference, every name of the image goes; an absent image is success,
//! and an image a container has mounted as a volume stays (FailedPrecondition).

use crate::api::v1::{RemoveImageRequest, RemoveImageResponse};
use crate::error::Error;

use crate::context::Context;
use crate::error::from_bridge;

pub(super) async fn remove_image(
    ctx: &Context,
    req: RemoveImageRequest,
) -> Result<RemoveImageResponse, Error> {
    let reference = req.image.map(|i| i.image).unwrap_or_default();
    if reference.trim().is_empty() {
        return Err(Error::invalid("image.image", "the image reference is empty"));
    }
    let Some(entry) = ctx.images.resolve(&reference) else { return Ok(RemoveImageResponse {}) };
    let mounted_by = ctx
        .containers
        .list()
        .into_iter()
        .find(|c| c.meta.image_volumes.iter().any(|v| v.image_id == entry.id));
    if let Some(c) = mounted_by {
        return Err(Error::failed_precondition(format!(
            "image {reference:?} is mounted as a volume by container {}",
            c.meta.id
        )));
    }
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
