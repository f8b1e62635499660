//! File-system work that blocks (fsync, removing trees, walking /proc), called from async
//! code: on a multi-threaded runtime tokio first hands this worker's other tasks to another
//! thread, so nothing else waits for the disk.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f` where it stalls no other task; outside a multi-threaded runtime, just runs it.
pub fn run<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Runs `f` on tokio's blocking pool and waits for it without holding a worker: for syscalls
/// that can wait on a kernel lock (mount and umount take the mount lock every runc on a busy
/// node takes too). Unlike `run`, other futures of the same task (a `join!`) go on meanwhile.
pub async fn off_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_task_on_the_same_worker_runs_while_the_call_blocks() {
        // The only worker blocks until a task spawned on it has run: without the hand-over
        // that task could run only after the call, and the wait would end empty.
        let got = tokio::spawn(async {
            let (tx, rx) = std::sync::mpsc::channel();
            let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(async move {
                let _ = go_rx.await;
                let _ = tx.send("ran");
            });
            run(move || {
                let _ = go_tx.send(());
                rx.recv_timeout(Duration::from_secs(10))
            })
        })
        .await
        .unwrap();
        assert_eq!(got, Ok("ran"));
    }

    #[tokio::test]
    async fn on_a_current_thread_runtime_it_just_runs() {
        assert_eq!(run(|| 7), 7);
    }

    #[test]
    fn outside_a_runtime_it_just_runs() {
        assert_eq!(run(|| 7), 7);
    }
}
