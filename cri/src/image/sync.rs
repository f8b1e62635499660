//! Rebuilding the image store from containerd's image records (at start and after containerd
//! comes back), so ListImages and ImageStatus never have to ask containerd.

use std::collections::HashMap;

use containerd_bridge::{ImageDetails, ImageRecord};

use crate::context::Context;
use crate::labels;
use crate::store::images::ImageStore;

/// Reloads every image record of the namespace; returns how many images there are. A record
/// that cannot be read is left out; losing containerd part-way fails the reload and keeps the
/// current store, which would otherwise lack every record not read yet (the sandbox image too).
pub(crate) async fn reload(ctx: &Context) -> containerd_bridge::Result<usize> {
    let records = ctx.containerd.list_images().await?;
    let fresh = ImageStore::default();
    // Many names share one target: read each manifest and config once.
    let mut seen: HashMap<String, Option<ImageDetails>> = HashMap::new();
    for record in records {
        let details = match seen.get(&record.target.digest) {
            Some(d) => d.clone(),
            None => {
                let d = match ctx.containerd.image_details(&record).await {
                    Ok(d) => Some(d),
                    Err(e) if !e.is_about_the_object() => return Err(e),
                    Err(e) => {
                        tracing::debug!(image = %record.name, error = %e, "skipping an image record that cannot be read");
                        None
                    }
                };
                seen.insert(record.target.digest.clone(), d.clone());
                d
            }
        };
        if let Some(details) = details {
            fresh.add_record(&record.name, &details, is_pinned(ctx, &record));
        }
    }
    keep_late_records(ctx, &fresh).await;
    let count = fresh.list().len();
    ctx.images.replace_all(fresh);
    Ok(count)
}

/// Names a concurrent pull recorded after the list was taken are in the current store but not
/// in `fresh`; those containerd still has are carried over.
async fn keep_late_records(ctx: &Context, fresh: &ImageStore) {
    let known: std::collections::HashSet<String> = fresh.record_names().into_iter().collect();
    for name in ctx.images.record_names().into_iter().filter(|n| !known.contains(n)) {
        let Ok(Some(record)) = ctx.containerd.get_image(&name).await else { continue };
        if let Ok(details) = ctx.containerd.image_details(&record).await {
            fresh.add_record(&name, &details, is_pinned(ctx, &record));
        }
    }
}

/// Pinned: labelled so by cricket, or the configured sandbox image.
pub(super) fn is_pinned(ctx: &Context, record: &ImageRecord) -> bool {
    record.labels.get(labels::IMAGE_PINNED).map(String::as_str) == Some(labels::IMAGE_PINNED_VALUE)
        || ctx.is_sandbox_image(&record.name)
}
