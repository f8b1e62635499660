//! ListImages and ImageStatus, answered from the image store.

use std::collections::HashMap;

use k8s_cri::v1::{
    Image, ImageSpec, ImageStatusRequest, ImageStatusResponse, Int64Value, ListImagesRequest,
    ListImagesResponse,
};
use tonic::Status;

use crate::context::Context;
use crate::store::images::ImageEntry;

pub(crate) fn to_cri(e: &ImageEntry) -> Image {
    Image {
        id: e.id.clone(),
        repo_tags: e.repo_tags.iter().cloned().collect(),
        repo_digests: e.repo_digests.iter().cloned().collect(),
        size: e.size,
        uid: e.uid.map(|value| Int64Value { value }),
        username: e.username.clone(),
        spec: Some(ImageSpec { image: e.id.clone(), ..Default::default() }),
        pinned: e.pinned,
    }
}

pub(super) fn list_images(ctx: &Context, req: ListImagesRequest) -> ListImagesResponse {
    let wanted = req.filter.and_then(|f| f.image).map(|s| s.image).filter(|s| !s.is_empty());
    let images = match wanted {
        Some(reference) => ctx.images.resolve(&reference).iter().map(to_cri).collect(),
        None => ctx.images.list().iter().map(to_cri).collect(),
    };
    ListImagesResponse { images }
}

pub(super) fn image_status(
    ctx: &Context,
    req: ImageStatusRequest,
) -> Result<ImageStatusResponse, Status> {
    let reference = req.image.map(|i| i.image).unwrap_or_default();
    if reference.trim().is_empty() {
        return Err(Status::invalid_argument("image.image: the image reference is empty"));
    }
    // An absent image is an empty answer, not an error (api.proto).
    let Some(entry) = ctx.images.resolve(&reference) else {
        return Ok(ImageStatusResponse::default());
    };
    let mut info = HashMap::new();
    if req.verbose {
        let spec: serde_json::Value = serde_json::from_slice(&entry.config).unwrap_or_default();
        let json = serde_json::json!({ "id": entry.id, "imageSpec": spec });
        info.insert("info".to_string(), json.to_string());
    }
    Ok(ImageStatusResponse { image: Some(to_cri(&entry)), info })
}
