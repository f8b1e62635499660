//! ListImages and ImageStatus, answered from the image store.

use std::collections::HashMap;

use crate::api::v1::{
    Image, ImageFilter, ImageSpec, ImageStatusRequest, ImageStatusResponse, Int64Value,
    ListImagesRequest, ListImagesResponse, StreamImagesRequest, StreamImagesResponse,
};
use crate::error::Error;
use crate::list_pages::{pages, PageStream};

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

/// The images a list filter selects: the one its reference names, or all.
fn matching(ctx: &Context, filter: Option<ImageFilter>) -> Vec<ImageEntry> {
    let wanted = filter.and_then(|f| f.image).map(|s| s.image).filter(|s| !s.is_empty());
    match wanted {
        Some(reference) => ctx.images.resolve(&reference).into_iter().collect(),
        None => ctx.images.list(),
    }
}

pub(super) fn list_images(ctx: &Context, req: ListImagesRequest) -> ListImagesResponse {
    ListImagesResponse { images: matching(ctx, req.filter).iter().map(to_cri).collect() }
}

pub(super) fn stream_images(
    ctx: &Context,
    req: StreamImagesRequest,
) -> PageStream<StreamImagesResponse> {
    pages(matching(ctx, req.filter), |e| Some(to_cri(e)), |images| StreamImagesResponse { images })
}

pub(super) fn image_status(
    ctx: &Context,
    req: ImageStatusRequest,
) -> Result<ImageStatusResponse, Error> {
    let reference = req.image.map(|i| i.image).unwrap_or_default();
    if reference.trim().is_empty() {
        return Err(Error::invalid("image.image", "the image reference is empty"));
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
