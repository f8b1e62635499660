//! Lifecycle calls run to their end, done or rolled back, even when the caller goes away. A
//! gRPC client's deadline or cancellation drops the handler's future; run inline, that would
//! stop a RunPodSandbox between two steps with nothing undone and its name still reserved.
//! So the work runs on a task of its own, and learns through [`CallerGone`] that nobody waits
//! for it any more (RunPodSandbox then cuts a CNI ADD short and rolls back).

use std::future::Future;
use std::sync::OnceLock;

use crate::error::Error;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tracing::Instrument;

/// Resolves once the caller has gone away.
pub struct CallerGone {
    caller: oneshot::Receiver<()>,
    /// A oneshot receiver must not be polled again once it has answered.
    gone: bool,
}

impl CallerGone {
    /// Waits until the caller has gone away; at once if it already has.
    pub async fn wait(&mut self) {
        if !self.gone {
            let _ = (&mut self.caller).await;
            self.gone = true;
        }
    }
}

/// Where lifecycle work runs: a runtime of its own in the daemon, so that its bursts of CPU
/// (forks, spec building, reaping plugins) never queue cheap calls such as `Version` behind
/// them; the kernel's scheduler shares the cores between the two runtimes' threads.
static LIFECYCLE_RUNTIME: OnceLock<Handle> = OnceLock::new();

/// Lifecycle work goes to `runtime` from now on (once; later calls change nothing).
pub fn run_lifecycle_on(runtime: Handle) {
    let _ = LIFECYCLE_RUNTIME.set(runtime);
}

/// Runs `work` on a task of its own (on the lifecycle runtime when there is one), in the
/// current span; the caller's answer when it ends.
pub async fn run<T, F>(work: impl FnOnce(CallerGone) -> F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let (caller, gone) = oneshot::channel::<()>();
    let work = work(CallerGone { caller: gone, gone: false }).instrument(tracing::Span::current());
    let task = match LIFECYCLE_RUNTIME.get() {
        Some(runtime) => runtime.spawn(work),
        None => tokio::spawn(work),
    };
    let result = task.await.unwrap_or_else(|e| Err(Error::internal("the call's task failed", e)));
    drop(caller);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn the_work_finishes_after_its_caller_has_gone_and_is_told_so() {
        let (noticed, finished) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (n, f) = (noticed.clone(), finished.clone());
        let call = run(move |mut gone| async move {
            gone.wait().await;
            gone.wait().await; // again: at once, no panic
            n.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            f.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(50), call).await.is_err(),
            "the caller gives up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(noticed.load(Ordering::SeqCst), "the work heard that its caller went away");
        assert!(finished.load(Ordering::SeqCst), "and still ran to its end");
    }

    #[tokio::test]
    async fn a_caller_that_stays_gets_the_answer() {
        assert_eq!(run(|_| async { Ok(7) }).await.unwrap(), 7);
        let err = run(|_| async { Err::<(), _>(Error::not_found("x")) }).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
    }
}
