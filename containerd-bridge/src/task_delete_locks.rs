//! One delete of a task at a time. The runc shim handles two concurrent deletes of one task
//! badly: the second fails with "cannot delete a deleted process" while the first is still
//! between removing the process and forgetting the container, and the shim's shutdown, asked
//! for at that moment, sees the container still there and never comes (containerd issue
//! 12344): the shim lives on with no task. cricket's exit handler and its stops may both
//! delete the same task, so deletes of one ID wait for each other.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

/// Locks shared by IDs of the same stripe: few, so that the table stays small, and enough
/// that unrelated deletes rarely wait for each other.
const STRIPES: usize = 64;

pub(crate) struct TaskDeleteLocks {
    stripes: Vec<Mutex<()>>,
}

impl TaskDeleteLocks {
    pub(crate) fn new() -> TaskDeleteLocks {
        TaskDeleteLocks { stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }

    /// Held for the whole delete of task `id`.
    pub(crate) async fn lock(&self, id: &str) -> MutexGuard<'_, ()> {
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        self.stripes[(h.finish() as usize) % STRIPES].lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deletes_of_one_task_never_overlap() {
        let locks = Arc::new(TaskDeleteLocks::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicUsize::new(0));
        let mut all = Vec::new();
        for _ in 0..8 {
            let (locks, inside, overlapped) = (locks.clone(), inside.clone(), overlapped.clone());
            all.push(tokio::spawn(async move {
                let _held = locks.lock("task-1").await;
                if inside.fetch_add(1, Ordering::SeqCst) > 0 {
                    overlapped.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in all {
            t.await.unwrap();
        }
        assert_eq!(overlapped.load(Ordering::SeqCst), 0);
    }
}
