//! Runs one piece of work per key at a time; callers that arrive while it runs share its
//! result. The work runs in its own task, so a caller that gives up does not cancel it for
//! the others (a pull that 100 pods wait for must not die with the first kubelet timeout).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared};
use tonic::Status;

type Flight<T> = Shared<BoxFuture<'static, Result<T, Status>>>;

pub struct SingleFlight<T> {
    inflight: Arc<Mutex<HashMap<String, Flight<T>>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight { inflight: Arc::new(Mutex::new(HashMap::new())) }
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// Joins the work running under `key`, or starts `work` under it.
    pub async fn run<F>(&self, key: String, work: F) -> Result<T, Status>
    where
        F: Future<Output = Result<T, Status>> + Send + 'static,
    {
        let flight = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            match inflight.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let map = self.inflight.clone();
                    let k = key.clone();
                    let task = tokio::spawn(async move {
                        let out = work.await;
                        map.lock().unwrap_or_else(|e| e.into_inner()).remove(&k);
                        out
                    });
                    let flight = async move { task.await.unwrap_or_else(|e| Err(Status::internal(format!("worker failed: {e}")))) }
                        .boxed()
                        .shared();
                    inflight.insert(key, flight.clone());
                    flight
                }
            }
        };
        flight.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_later_ones_start_anew() {
        let flights: Arc<SingleFlight<usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let call = |flights: Arc<SingleFlight<usize>>, runs: Arc<AtomicUsize>| async move {
            flights
                .run("k".into(), async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(runs.fetch_add(1, Ordering::SeqCst))
                })
                .await
        };
        let joined = futures::future::join_all((0..10).map(|_| call(flights.clone(), runs.clone()))).await;
        assert!(joined.iter().all(|r| r.as_ref().unwrap() == &0));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(call(flights.clone(), runs.clone()).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_does_not_cancel_the_work() {
        let flights: Arc<SingleFlight<&'static str>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let work = async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            d.fetch_add(1, Ordering::SeqCst);
            Ok("done")
        };
        let impatient = tokio::time::timeout(Duration::from_millis(5), flights.run("k".into(), work)).await;
        assert!(impatient.is_err());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
