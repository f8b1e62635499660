//! Runs one piece of work per key at a time; callers that arrive while it runs share its
//! result. The work runs in its own task: a caller that gives up does not cancel it for the
//! others (a pull that 100 pods wait for must not die with the first kubelet timeout), but
//! when the last caller has gone, the work is cancelled.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::locks::MutexExt;
use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::task::AbortHandle;

type Flight<T> = Shared<BoxFuture<'static, Result<T, Error>>>;

struct Entry<T> {
    flight: Flight<T>,
    waiters: Arc<AtomicUsize>,
    abort: AbortHandle,
}

type Map<T> = Arc<Mutex<HashMap<String, Entry<T>>>>;

pub struct SingleFlight<T> {
    inflight: Map<T>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight { inflight: Arc::new(Mutex::new(HashMap::new())) }
    }
}

/// One caller's interest in a flight; dropping it unanswered may cancel the work.
struct Waiter<T> {
    key: String,
    map: Map<T>,
    waiters: Arc<AtomicUsize>,
    abort: AbortHandle,
    answered: bool,
}

impl<T> Drop for Waiter<T> {
    fn drop(&mut self) {
        if self.waiters.fetch_sub(1, Ordering::SeqCst) == 1 && !self.answered {
            self.abort.abort();
            let mut map = self.map.locked();
            if map.get(&self.key).is_some_and(|e| Arc::ptr_eq(&e.waiters, &self.waiters)) {
                map.remove(&self.key);
            }
        }
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// Joins the work running under `key`, or starts `work` under it.
    pub async fn run<F>(&self, key: String, work: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let (mut waiter, flight) = {
            let mut inflight = self.inflight.locked();
            let entry =
                inflight.entry(key.clone()).or_insert_with(|| self.start(key.clone(), work));
            entry.waiters.fetch_add(1, Ordering::SeqCst);
            let waiter = Waiter {
                key,
                map: self.inflight.clone(),
                waiters: entry.waiters.clone(),
                abort: entry.abort.clone(),
                answered: false,
            };
            (waiter, entry.flight.clone())
        };
        let out = flight.await;
        waiter.answered = true;
        out
    }

    fn start<F>(&self, key: String, work: F) -> Entry<T>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let map = self.inflight.clone();
        let task = tokio::spawn(async move {
            let out = work.await;
            map.locked().remove(&key);
            out
        });
        let abort = task.abort_handle();
        let flight = async move {
            match task.await {
                Ok(out) => out,
                Err(e) if e.is_cancelled() => Err(Error::cancelled("every caller gave up")),
                Err(e) => Err(Error::internal("worker failed", e)),
            }
        }
        .boxed()
        .shared();
        Entry { flight, waiters: Arc::new(AtomicUsize::new(0)), abort }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let joined =
            futures::future::join_all((0..10).map(|_| call(flights.clone(), runs.clone()))).await;
        assert!(joined.iter().all(|r| r.as_ref().unwrap() == &0));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(call(flights.clone(), runs.clone()).await.unwrap(), 1);
    }

    async fn slow_work(done: Arc<AtomicUsize>) -> Result<&'static str, Error> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        done.fetch_add(1, Ordering::SeqCst);
        Ok("done")
    }

    #[tokio::test]
    async fn a_caller_giving_up_leaves_the_work_to_those_still_waiting() {
        let flights: Arc<SingleFlight<&'static str>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let patient = {
            let flights = flights.clone();
            let work = slow_work(done.clone());
            tokio::spawn(async move { flights.run("k".into(), work).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let impatient = tokio::time::timeout(
            Duration::from_millis(5),
            flights.run("k".into(), slow_work(done.clone())),
        )
        .await;
        assert!(impatient.is_err());
        assert_eq!(patient.await.unwrap().unwrap(), "done");
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn when_every_caller_gives_up_the_work_is_cancelled() {
        let flights: Arc<SingleFlight<&'static str>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let gave_up = tokio::time::timeout(
            Duration::from_millis(10),
            flights.run("k".into(), slow_work(done.clone())),
        )
        .await;
        assert!(gave_up.is_err());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(done.load(Ordering::SeqCst), 0, "nobody wanted it any more");
        assert_eq!(
            flights.run("k".into(), slow_work(done.clone())).await.unwrap(),
            "done",
            "a new caller starts anew"
        );
    }
}
