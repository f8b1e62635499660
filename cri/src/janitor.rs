//! Containerd objects a rollback could not remove (containerd was down or restarting): their
//! task, record and snapshot are removed again every few seconds until containerd lets them
//! go, so that a failed CreateContainer or RunPodSandbox leaves nothing behind even without a
//! restart of cricket; so is the task of a start that failed, and a create's lease that could
//! not be deleted (what it still holds, such as an image volume's view, goes with it). Holds
//! IDs only; a record that comes back into a store is left alone.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::context::Context;
use crate::locks::MutexExt;

const EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Janitor {
    pending: Mutex<BTreeSet<String>>,
    /// Tasks only: their containers stay (a start that failed, recorded as exited).
    tasks: Mutex<BTreeSet<String>>,
    /// Leases of operations that ended while containerd was away.
    leases: Mutex<BTreeSet<String>>,
}

impl Janitor {
    /// Leaves `id`'s task, containerd record and snapshot to be removed.
    pub fn leave(&self, id: &str) {
        tracing::info!(id, "containerd objects left for later removal");
        self.pending.locked().insert(id.to_string());
    }

    /// Leaves `id`'s task (only) to be removed.
    pub fn leave_task(&self, id: &str) {
        self.tasks.locked().insert(id.to_string());
    }

    /// Leaves the lease `id` to be deleted (synchronously, so what it held is collected).
    pub fn leave_lease(&self, id: &str) {
        tracing::info!(lease = id, "lease left for later deletion");
        self.leases.locked().insert(id.to_string());
    }

    #[cfg(test)]
    pub fn leases_left(&self) -> Vec<String> {
        self.leases.locked().iter().cloned().collect()
    }

    fn pending(&self) -> Vec<String> {
        self.pending.locked().iter().cloned().collect()
    }

    fn done(&self, id: &str) {
        self.pending.locked().remove(id);
    }
}

/// Removes the task, then the record, then the snapshot: the record never goes while a task
/// (and its shim) may remain.
pub async fn remove_objects(ctx: &Context, id: &str) -> Result<(), containerd_bridge::BridgeError> {
    crate::container::remove_task(ctx, id).await?;
    ctx.lifecycle.delete_container(id).await?;
    ctx.lifecycle.remove_snapshot(id).await
}

/// Removes `id`'s objects now, or leaves them to the janitor if containerd will not.
pub async fn remove_or_leave(ctx: &Context, id: &str) {
    if let Err(e) = remove_objects(ctx, id).await {
        tracing::warn!(id, error = %e, "could not remove containerd objects now");
        ctx.janitor.leave(id);
    }
}

pub fn spawn(ctx: Arc<Context>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            let tasks: Vec<String> = ctx.janitor.tasks.locked().iter().cloned().collect();
            for id in tasks {
                if crate::container::remove_task(&ctx, &id).await.is_ok() {
                    ctx.janitor.tasks.locked().remove(&id);
                }
            }
            let leases: Vec<String> = ctx.janitor.leases.locked().iter().cloned().collect();
            for id in leases {
                let Ok(lease) = containerd_bridge::Lease::existing(&id) else {
                    ctx.janitor.leases.locked().remove(&id);
                    continue;
                };
                if ctx.lifecycle.delete_lease(&lease, true).await.is_ok() {
                    ctx.janitor.leases.locked().remove(&id);
                }
            }
            for id in ctx.janitor.pending() {
                if ctx.containers.contains(&id) || ctx.sandboxes.contains(&id) {
                    ctx.janitor.done(&id);
                    continue;
                }
                if remove_objects(&ctx, &id).await.is_ok() {
                    tracing::info!(id, "removed containerd objects left by a failed rollback");
                    ctx.janitor.done(&id);
                }
            }
        }
    });
}
