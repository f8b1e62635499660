//! Image records other clients make, move or remove (`ctr images import`, `kind load`,
//! nerdctl), as containerd's image events report them, so that ListImages and CreateContainer
//! see them without a restart.

use crate::context::Context;

/// A record was made or now points elsewhere: read it and (re)add it. One made by cricket's
/// own pull is in the store already.
pub(crate) async fn record_changed(ctx: &Context, name: &str, created: bool) {
    if created && ctx.images.has_record(name) {
        return;
    }
    let record = match ctx.containerd.get_image(name).await {
        Ok(Some(record)) => record,
        Ok(None) => return, // removed again meanwhile
        Err(e) => {
            tracing::warn!(image = %name, error = %e, "could not read a changed image record");
            return;
        }
    };
    match ctx.containerd.image_details(&record).await {
        Ok(details) => {
            ctx.images.add_record(name, &details, super::sync::is_pinned(ctx, &record));
            tracing::info!(image = %name, id = %details.config_digest, "image record added by another client");
        }
        // Not for this platform, or its content is not all there (yet): not usable.
        Err(e) => {
            tracing::debug!(image = %name, error = %e, "skipping an image record that cannot be read")
        }
    }
}

pub(crate) fn record_deleted(ctx: &Context, name: &str) {
    if ctx.images.has_record(name) {
        ctx.images.remove_record(name);
        tracing::info!(image = %name, "image record removed by another client");
    }
}
