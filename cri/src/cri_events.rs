//! GetContainerEvents: every state change of a container or a pod sandbox goes to each
//! subscriber with the pod's status and its containers' statuses. Each subscriber has a
//! bounded buffer; one that falls behind loses its oldest events (counted and logged), so a
//! slow client never slows the runtime. Nothing is built while nobody listens. An event's
//! statuses are read, stamped and sent under one lock, so a subscriber receives them in the
//! order they were read, with rising timestamps: a kubelet that keeps the status of the newest
//! event never keeps an older one.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::locks::MutexExt;

use crate::api::v1::{ContainerEventResponse, ContainerEventType};
use futures::Stream;
use tokio::sync::{broadcast, watch};
use tonic::Status;

use crate::context::Context;

/// Events a subscriber may fall behind by before it loses some.
const BUFFER: usize = 1024;

pub type EventStream =
    Pin<Box<dyn Stream<Item = Result<ContainerEventResponse, Status>> + Send + 'static>>;

pub struct ContainerEvents {
    tx: broadcast::Sender<ContainerEventResponse>,
    dropped: Arc<AtomicU64>,
    /// Held from reading an event's statuses until it is sent.
    order: Mutex<()>,
    /// Set when cricket stops: every stream ends, so that shutdown is not held up by them.
    closed: watch::Sender<bool>,
}

impl Default for ContainerEvents {
    fn default() -> Self {
        ContainerEvents {
            tx: broadcast::channel(BUFFER).0,
            dropped: Arc::default(),
            order: Mutex::default(),
            closed: watch::channel(false).0,
        }
    }
}

impl ContainerEvents {
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn send(&self, event: ContainerEventResponse) {
        self.send_built(|| event);
    }

    /// Builds an event and sends it before any other event is built.
    pub fn send_built(&self, build: impl FnOnce() -> ContainerEventResponse) {
        let _order = self.order.locked();
        // No receivers is the only error, and then nobody wanted it.
        let _ = self.tx.send(build());
    }

    /// Ends every subscriber's stream.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Events lost by subscribers that fell behind, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A new subscriber's stream: the events from now on.
    pub fn subscribe(&self) -> EventStream {
        let dropped = self.dropped.clone();
        let state = (self.tx.subscribe(), self.closed.subscribe());
        Box::pin(futures::stream::unfold(state, move |(mut rx, mut closed)| {
            let dropped = dropped.clone();
            async move {
                loop {
                    let received = tokio::select! {
                        received = rx.recv() => received,
                        _ = closed.wait_for(|c| *c) => return None,
                    };
                    match received {
                        Ok(event) => return Some((Ok(event), (rx, closed))),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            dropped.fetch_add(n, Ordering::Relaxed);
                            tracing::warn!(dropped = n, "a GetContainerEvents subscriber fell behind; its oldest events were dropped");
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}

/// Sends `kind` for `container_id` (a container, or the pod itself for pod events) of pod
/// `sandbox_id`, with the statuses as they are now.
pub fn emit(ctx: &Context, container_id: &str, sandbox_id: &str, kind: ContainerEventType) {
    if !ctx.container_events.has_subscribers() {
        return;
    }
    ctx.container_events.send_built(|| ContainerEventResponse {
        container_id: container_id.to_string(),
        container_event_type: kind as i32,
        pod_sandbox_status: ctx.sandboxes.get(sandbox_id).map(|s| crate::sandbox::cri_status(&s)),
        containers_statuses: ctx
            .containers
            .in_sandbox(sandbox_id)
            .iter()
            .map(|c| crate::container::cri_status(ctx, c))
            .collect(),
        created_at: crate::sys::clock::now_ns(),
    });
}

/// Sends `kind` for a container, looking up its pod.
pub fn emit_for_container(ctx: &Context, container_id: &str, kind: ContainerEventType) {
    if let Some(c) = ctx.containers.get(container_id) {
        emit(ctx, container_id, &c.meta.sandbox_id, kind);
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn event(id: &str) -> ContainerEventResponse {
        ContainerEventResponse { container_id: id.into(), ..Default::default() }
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let events = ContainerEvents::default();
        assert!(!events.has_subscribers());
        let (mut a, mut b) = (events.subscribe(), events.subscribe());
        assert!(events.has_subscribers());
        for id in ["1", "2"] {
            events.send(event(id));
        }
        for s in [&mut a, &mut b] {
            assert_eq!(s.next().await.unwrap().unwrap().container_id, "1");
            assert_eq!(s.next().await.unwrap().unwrap().container_id, "2");
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_loses_the_oldest_and_they_are_counted() {
        let events = ContainerEvents::default();
        let mut slow = events.subscribe();
        for i in 0..BUFFER + 10 {
            events.send(event(&i.to_string()));
        }
        assert_eq!(
            slow.next().await.unwrap().unwrap().container_id,
            "10",
            "the newest BUFFER events are kept"
        );
        assert_eq!(events.dropped(), 10);
    }

    #[tokio::test]
    async fn events_built_at_once_on_many_threads_arrive_in_the_order_they_were_stamped() {
        let events = Arc::new(ContainerEvents::default());
        let mut s = events.subscribe();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let events = events.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        events.send_built(|| {
                            let created_at = crate::sys::clock::now_ns();
                            // Statuses take a while to read.
                            std::thread::sleep(std::time::Duration::from_micros(50));
                            ContainerEventResponse { created_at, ..Default::default() }
                        });
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let mut last = 0;
        for _ in 0..800 {
            let stamped = s.next().await.unwrap().unwrap().created_at;
            assert!(stamped >= last, "{stamped} arrived after {last}");
            last = stamped;
        }
    }

    #[tokio::test]
    async fn close_ends_every_stream() {
        let events = ContainerEvents::default();
        let mut s = events.subscribe();
        events.close();
        assert!(s.next().await.is_none());
    }
}
