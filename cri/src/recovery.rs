//! What is done each time containerd (re)appears, before cricket reports itself ready:
//! free what a previous cricket left half-done, make sure the sandbox image is there, and
//! rebuild the in-memory stores from containerd (docs/state.md, "Start-up and recovery").

use std::sync::Arc;

use containerd_bridge::pull::Credentials;

use crate::adapters::containerd_monitor::Readiness;
use crate::context::Context;
use crate::store::containers::ContainerState;

/// Runs the recovery steps; the readiness to report if one fails.
pub async fn after_connect(ctx: &Arc<Context>, first: bool) -> Result<(), Readiness> {
    if first {
        match ctx.containerd.delete_stale_leases(std::process::id()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(leases = n, "freed what an earlier cricket left half-written"),
            Err(e) => tracing::warn!(error = %e, "could not list or delete stale leases"),
        }
    }
    ensure_sandbox_image(ctx).await?;
    match crate::image::reload(ctx).await {
        Ok(n) => tracing::debug!(images = n, "image store loaded from containerd"),
        Err(e) => {
            return Err(Readiness::not_ready("ContainerdUnreachable", format!("list images: {e}")))
        }
    }
    if first {
        match crate::sandbox::recover(ctx).await {
            Ok(n) => tracing::info!(sandboxes = n, "pod sandboxes recovered"),
            Err(e) => {
                return Err(Readiness::not_ready(
                    "ContainerdUnreachable",
                    format!("recover sandboxes: {e}"),
                ))
            }
        }
        match crate::container::recover(ctx).await {
            Ok(n) => tracing::info!(containers = n, "containers recovered"),
            Err(e) => {
                return Err(Readiness::not_ready(
                    "ContainerdUnreachable",
                    format!("recover containers: {e}"),
                ))
            }
        }
        // Exits missed while cricket was down are recorded and their tasks deleted first, so
        // that every task left is one that runs; then no shim without one may stay.
        for c in
            ctx.containers.list().into_iter().filter(|c| c.status.state == ContainerState::Running)
        {
            crate::container::exits::reconcile(ctx, &c.meta.id).await;
        }
        crate::adapters::shim_sweep::stop_orphaned_shims(ctx, std::time::Duration::ZERO).await;
        ctx.recovered.send_replace(true);
        crate::adapters::containerd_event_loop::spawn(ctx.clone());
        crate::adapters::shim_sweep::spawn(ctx.clone());
        crate::janitor::spawn(ctx.clone());
        crate::stats::spawn_sampler(ctx.clone());
        crate::image::spawn_sampler(ctx.clone());
    }
    Ok(())
}

/// The built-in pause image is imported; a configured one is pulled if absent. Both pinned.
async fn ensure_sandbox_image(ctx: &Context) -> Result<(), Readiness> {
    let unavailable = |e: String| Readiness::not_ready("SandboxImageUnavailable", e);
    let configured = &ctx.config.images.sandbox_image;
    if configured.is_empty() {
        return crate::pause_image::ensure(&ctx.containerd)
            .await
            .map_err(|e| unavailable(format!("built-in pause image: {e}")));
    }
    let name = ctx.sandbox_image_name().unwrap_or_default();
    match ctx.containerd.get_image(&name).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => crate::image::pull_and_record(ctx, configured, &Credentials::Anonymous, true)
            .await
            .map(|_| ())
            .map_err(|s| unavailable(format!("sandbox image {configured}: {}", s.message()))),
        Err(e) => Err(unavailable(format!("sandbox image {configured}: {e}"))),
    }
}
