//! The idle timeout of a streaming session: every message either way touches its activity,
//! and a session that stays untouched for the limit is closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Clone)]
pub struct Activity {
    start: Instant,
    /// Milliseconds after `start` of the last touch.
    last: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity { start: Instant::now(), last: Arc::default() }
    }
}

impl Activity {
    pub fn touch(&self) {
        self.last.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Completes once nothing touched this for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        loop {
            let deadline =
                self.start + Duration::from_millis(self.last.load(Ordering::Relaxed)) + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn touches_push_the_end_back() {
        let a = Activity::default();
        let b = a.clone();
        let toucher = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                b.touch();
            }
        });
        let t0 = Instant::now();
        a.idle_for(Duration::from_secs(5)).await;
        assert!(
            t0.elapsed() >= Duration::from_secs(20),
            "touched every 3 s for 15 s, then idle 5 s: {:?}",
            t0.elapsed()
        );
        toucher.await.unwrap();
    }
}
