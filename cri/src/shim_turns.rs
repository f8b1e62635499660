//! Turns at a pod's shim for the pods without a pause. Their containers share one runc shim
//! (it groups tasks by the pod ID annotation), and nothing else keeps it: it leaves once its
//! last task is deleted. A task being created in it meanwhile dies with it ("ttrpc: closed").
//! So a pod's task creates and deletes take turns; containerd returns from a delete only once
//! a leaving shim has closed its socket, and the next create then starts a new shim.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::context::Context;
use crate::locks::MutexExt;

/// One lock per pod without a pause that has had a turn.
#[derive(Default)]
pub struct ShimTurns {
    pods: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ShimTurns {
    /// Waits for the pod's turn; it ends when the guard is dropped.
    pub async fn take(&self, pod: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut pods = self.pods.locked();
            pods.entry(pod.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Drops the pod's lock once the pod is gone.
    pub fn forget(&self, pod: &str) {
        self.pods.locked().remove(pod);
    }
}

/// The turn for creating or deleting container `id`'s task: none needed when its pod has a
/// pause (whose task keeps the shim) or is unknown.
pub(crate) async fn take(ctx: &Context, id: &str) -> Option<OwnedMutexGuard<()>> {
    let pod = ctx.containers.get(id)?.meta.sandbox_id.clone();
    if ctx.sandboxes.get(&pod)?.meta.pause {
        return None;
    }
    Some(ctx.shim_turns.take(&pod).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_pod_has_one_turn_at_a_time_and_pods_do_not_wait_for_each_other() {
        let turns = ShimTurns::default();
        let held = turns.take("a").await;
        let other_pod = tokio::time::timeout(Duration::from_millis(100), turns.take("b")).await;
        assert!(other_pod.is_ok(), "another pod's turn does not wait");
        let same_pod = tokio::time::timeout(Duration::from_millis(100), turns.take("a")).await;
        assert!(same_pod.is_err(), "the same pod's turn waits for the first to end");
        drop(held);
        let after = tokio::time::timeout(Duration::from_millis(100), turns.take("a")).await;
        assert!(after.is_ok(), "the turn is free once the guard is dropped");
        turns.forget("a");
        assert!(turns.pods.lock().unwrap().get("a").is_none());
    }
}
