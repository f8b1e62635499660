//! After a restart: every sandbox containerd knows comes back into the store with its status;
//! one whose RunPodSandbox was interrupted (no status file) is undone.

use std::sync::Arc;

use crate::api::v1::PodSandboxConfig;
use base64::Engine;
use prost::Message;

use crate::adapters::namespace_pins::Kind;

use super::network::detach;
use super::persist;
use crate::context::Context;
use crate::labels;
use crate::store::sandboxes::{name_key, Sandbox, SandboxMetadata, SandboxState};

/// Loads every sandbox; returns how many came back.
pub async fn recover(ctx: &Context) -> containerd_bridge::Result<usize> {
    let containers = ctx.lifecycle.list_containers(vec![super::sandbox_filter()]).await?;
    let mut count = 0;
    for container in containers {
        let Some(meta) =
            container.extensions.get(labels::METADATA_EXTENSION).and_then(persist::decode_metadata)
        else {
            continue;
        };
        let config = base64::engine::general_purpose::STANDARD
            .decode(&meta.config)
            .ok()
            .and_then(|b| PodSandboxConfig::decode(b.as_slice()).ok())
            .unwrap_or_default();
        let Some(mut status) = persist::load_status(ctx, &meta.id) else {
            undo_interrupted(ctx, &meta).await;
            continue;
        };
        let running = if meta.pause {
            matches!(ctx.lifecycle.task_status(&meta.id).await?, Some((_, true)))
        } else {
            meta.pins().all(|p| ctx.namespaces.is_pinned(p.as_ref()))
        };
        if status.state == SandboxState::Ready && !running {
            status.state = SandboxState::NotReady;
        }
        let key = name_key(&meta.name, &meta.namespace, &meta.uid, meta.attempt);
        let _ = ctx.sandboxes.reserve_name(&key, &meta.id);
        ctx.sandboxes.insert(Sandbox { meta, config: Arc::new(config), status });
        count += 1;
    }
    sweep_orphans(ctx).await;
    collect_network_garbage(ctx).await;
    Ok(count)
}

/// CNI GC (spec 1.1): the plugins free what they hold for attachments to the pod network that
/// no recovered sandbox has (an address whose cache entry was lost, for instance), and stale
/// cache entries go. The valid set comes from the sandbox store, not from the cache.
async fn collect_network_garbage(ctx: &Context) {
    let Ok(Some(net)) = ctx.networks.current() else { return };
    let valid: Vec<(String, String)> = ctx
        .sandboxes
        .list()
        .into_iter()
        .filter(|s| s.status.network == net.name)
        .map(|s| (s.meta.id, super::network::IFNAME.to_string()))
        .collect();
    if let Err(e) = ctx.cni.gc(&net, &valid).await {
        tracing::warn!(network = %net.name, error = %e, "CNI GC failed");
    }
}

/// What a cricket killed before its pause container existed leaves behind, and no sandbox
/// claims: CNI attachments (DEL them, or the IP leaks for ever), namespace pins, directories.
async fn sweep_orphans(ctx: &Context) {
    let known = |id: &str| ctx.sandboxes.get(id).is_some_and(|s| s.meta.id == id);
    for cached in ctx.cni.attachments().into_iter().filter(|a| !known(&a.container_id)) {
        let pin = ctx.namespaces.pin_path(Kind::Net, &cached.container_id);
        let netns = if pin.exists() { pin.display().to_string() } else { String::new() };
        let rc = cni::RuntimeConf::from_cached(&cached, &netns);
        match detach(ctx, &cached.network_name, &rc).await {
            Ok(()) => {
                tracing::info!(pod = %cached.container_id, "released the network of a sandbox that never finished")
            }
            Err(e) => {
                tracing::warn!(pod = %cached.container_id, error = %e, "CNI DEL of an orphaned attachment failed")
            }
        }
    }
    for kind in [Kind::Net, Kind::Ipc, Kind::Uts, Kind::User] {
        let dir = ctx.namespaces.pin_path(kind, "_").with_file_name("");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if !known(&entry.file_name().to_string_lossy()) {
                let _ =
                    crate::adapters::namespace_pins::unpin(&ctx.namespaces, &entry.path()).await;
            }
        }
    }
    for entry in
        std::fs::read_dir(ctx.config.root_dir.join("sandboxes")).into_iter().flatten().flatten()
    {
        if !known(&entry.file_name().to_string_lossy()) {
            let _ = super::shm::unmount(&super::shm::path(&entry.path())).await;
            let _ = crate::sys::blocking::run(|| std::fs::remove_dir_all(entry.path()));
        }
    }
}

/// A sandbox cricket died creating: remove what exists of it, as a failed Run would have.
async fn undo_interrupted(ctx: &Context, meta: &SandboxMetadata) {
    let id = meta.id.as_str();
    tracing::info!(pod = %id, "undoing a RunPodSandbox interrupted by a restart");
    crate::janitor::remove_or_leave(ctx, id).await;
    // The CNI cache says whether (and on which network) the ADD got through.
    for cached in ctx.cni.attachments().into_iter().filter(|a| a.container_id == id) {
        let rc = cni::RuntimeConf::from_cached(&cached, &meta.netns);
        if let Err(e) = detach(ctx, &cached.network_name, &rc).await {
            tracing::warn!(pod = %id, error = %e, "CNI DEL of an interrupted sandbox failed");
        }
    }
    for pin in meta.pins() {
        let _ = crate::adapters::namespace_pins::unpin(&ctx.namespaces, pin.as_ref()).await;
    }
    let _ = super::shm::unmount(&super::shm::path(&persist::dir(ctx, id))).await;
    let _ = crate::sys::blocking::run(|| std::fs::remove_dir_all(persist::dir(ctx, id)));
}
