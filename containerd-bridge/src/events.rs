//! containerd's events in cricket's namespace, read from one subscription: process exits and
//! OOM kills of tasks, and image records made, changed or removed by anyone (`ctr images
//! import`, `kind load`, another client).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use containerd_client::events::{TaskExit as TaskExitEvent, TaskOom};
use containerd_client::services::v1::events_client::EventsClient;
use containerd_client::services::v1::{ImageCreate, ImageDelete, ImageUpdate};
use containerd_client::services::v1::{PublishRequest, SubscribeRequest};
use containerd_client::types::Envelope;
use prost::Message;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};

const EXIT_TOPIC: &str = "/tasks/exit";
const OOM_TOPIC: &str = "/tasks/oom";
const IMAGE_CREATE_TOPIC: &str = "/images/create";
const IMAGE_UPDATE_TOPIC: &str = "/images/update";
const IMAGE_DELETE_TOPIC: &str = "/images/delete";

/// An event cricket acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A process of a task exited; `exec_id` equals `container_id` for the task's init process.
    Exit { container_id: String, exec_id: String, pid: u32, code: u32, exited_at_ns: i64 },
    /// The kernel's OOM killer acted in the task's cgroup.
    Oom { container_id: String },
    /// An image record was made (`created`) or pointed elsewhere.
    ImageChanged { name: String, created: bool },
    /// An image record was removed.
    ImageDeleted { name: String },
}

/// Where cricket publishes its own marker, to learn that its subscription is live.
const MARKER_TOPIC: &str = "/cricket/subscribed";
const MARKER_TYPE: &str = "cricket.SubscriptionMarker";
/// How often the marker is published until it comes back, and for how long.
const MARKER_INTERVAL: Duration = Duration::from_millis(50);
const SUBSCRIBE_LIMIT: Duration = Duration::from_secs(5);

/// An open subscription; ends when containerd goes away.
pub struct EventStream {
    stream: tonic::Streaming<Envelope>,
    /// Events that arrived before the marker.
    early: VecDeque<Event>,
}

impl EventStream {
    /// The next event; `Ok(None)` when the stream ended.
    pub async fn next(&mut self) -> Result<Option<Event>> {
        if let Some(event) = self.early.pop_front() {
            return Ok(Some(event));
        }
        loop {
            let Some(envelope) =
                self.stream.message().await.map_err(BridgeError::rpc("events receive"))?
            else {
                return Ok(None);
            };
            if let Some(Decoded::Event(event)) = decode(&envelope)? {
                return Ok(Some(event));
            }
        }
    }
}

impl Containerd {
    /// Subscribes to exits and OOM kills of tasks in cricket's namespace, and returns once the
    /// subscription is live: events published before that are not delivered, so callers
    /// resync task state afterwards.
    ///
    /// containerd registers a subscriber without answering until the first event arrives, so
    /// cricket publishes a marker of its own (repeatedly, as one sent too early is lost) and
    /// waits for it to come back.
    pub async fn subscribe_events(&self) -> Result<EventStream> {
        static SUBSCRIPTIONS: AtomicU64 = AtomicU64::new(0);
        let nonce =
            format!("{}-{}", std::process::id(), SUBSCRIPTIONS.fetch_add(1, Ordering::Relaxed));
        let namespace = &self.config().namespace;
        let topics = [
            EXIT_TOPIC,
            OOM_TOPIC,
            IMAGE_CREATE_TOPIC,
            IMAGE_UPDATE_TOPIC,
            IMAGE_DELETE_TOPIC,
            MARKER_TOPIC,
        ];
        let filters = topics
            .iter()
            .map(|topic| format!("namespace==\"{namespace}\",topic==\"{topic}\""))
            .collect();
        let mut client = EventsClient::new(self.channel());
        let live = async {
            let subscribe = client.subscribe(SubscribeRequest { filters });
            tokio::pin!(subscribe);
            let mut stream = loop {
                self.publish_marker(&nonce).await?;
                tokio::select! {
                    reply = &mut subscribe => break reply.map_err(BridgeError::rpc("events subscribe"))?.into_inner(),
                    _ = tokio::time::sleep(MARKER_INTERVAL) => {}
                }
            };
            let mut early = VecDeque::new();
            loop {
                tokio::select! {
                    message = stream.message() => match message.map_err(BridgeError::rpc("events receive"))? {
                        None => return Err(BridgeError::Invalid { op: "events subscribe", detail: "the stream ended at once".into() }),
                        Some(envelope) => match decode(&envelope)? {
                            Some(Decoded::Marker(n)) if n == nonce => return Ok(EventStream { stream, early }),
                            Some(Decoded::Event(event)) => early.push_back(event),
                            _ => {}
                        },
                    },
                    _ = tokio::time::sleep(MARKER_INTERVAL) => self.publish_marker(&nonce).await?,
                }
            }
        };
        tokio::time::timeout(SUBSCRIBE_LIMIT, live).await.map_err(|_| BridgeError::Invalid {
            op: "events subscribe",
            detail: "no event came back within 5 s".into(),
        })?
    }

    async fn publish_marker(&self, nonce: &str) -> Result<()> {
        let event =
            prost_types::Any { type_url: MARKER_TYPE.into(), value: nonce.as_bytes().to_vec() };
        let mut client = EventsClient::with_interceptor(self.channel(), self.scope(None));
        client
            .publish(PublishRequest { topic: MARKER_TOPIC.into(), event: Some(event) })
            .await
            .map_err(BridgeError::rpc("events publish"))?;
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum Decoded {
    Event(Event),
    Marker(String),
}

fn decode(envelope: &Envelope) -> Result<Option<Decoded>> {
    let Some(any) = &envelope.event else { return Ok(None) };
    let invalid = |e: prost::DecodeError| BridgeError::Invalid {
        op: "events decode",
        detail: format!("{}: {e}", envelope.topic),
    };
    Ok(match envelope.topic.as_str() {
        EXIT_TOPIC => {
            let e = TaskExitEvent::decode(any.value.as_slice()).map_err(invalid)?;
            let exited_at_ns = e
                .exited_at
                .map(|t| t.seconds * 1_000_000_000 + i64::from(t.nanos))
                .unwrap_or_default();
            Some(Decoded::Event(Event::Exit {
                container_id: e.container_id,
                exec_id: e.id,
                pid: e.pid,
                code: e.exit_status,
                exited_at_ns,
            }))
        }
        OOM_TOPIC => Some(Decoded::Event(Event::Oom {
            container_id: TaskOom::decode(any.value.as_slice()).map_err(invalid)?.container_id,
        })),
        IMAGE_CREATE_TOPIC => Some(Decoded::Event(Event::ImageChanged {
            name: ImageCreate::decode(any.value.as_slice()).map_err(invalid)?.name,
            created: true,
        })),
        IMAGE_UPDATE_TOPIC => Some(Decoded::Event(Event::ImageChanged {
            name: ImageUpdate::decode(any.value.as_slice()).map_err(invalid)?.name,
            created: false,
        })),
        IMAGE_DELETE_TOPIC => Some(Decoded::Event(Event::ImageDeleted {
            name: ImageDelete::decode(any.value.as_slice()).map_err(invalid)?.name,
        })),
        MARKER_TOPIC => Some(Decoded::Marker(String::from_utf8_lossy(&any.value).into_owned())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(topic: &str, type_url: &str, value: Vec<u8>) -> Envelope {
        Envelope {
            timestamp: None,
            namespace: "k8s.io".into(),
            topic: topic.into(),
            event: Some(prost_types::Any { type_url: type_url.into(), value }),
        }
    }

    #[test]
    fn exits_and_ooms_decode_and_other_topics_are_skipped() {
        let exit = TaskExitEvent {
            container_id: "c1".into(),
            id: "c1".into(),
            pid: 42,
            exit_status: 137,
            exited_at: Some(prost_types::Timestamp { seconds: 2, nanos: 5 }),
        };
        let got = decode(&envelope(EXIT_TOPIC, "containerd.events.TaskExit", exit.encode_to_vec()))
            .unwrap();
        assert_eq!(
            got,
            Some(Decoded::Event(Event::Exit {
                container_id: "c1".into(),
                exec_id: "c1".into(),
                pid: 42,
                code: 137,
                exited_at_ns: 2_000_000_005
            }))
        );
        let oom = TaskOom { container_id: "c2".into() };
        assert_eq!(
            decode(&envelope(OOM_TOPIC, "containerd.events.TaskOOM", oom.encode_to_vec())).unwrap(),
            Some(Decoded::Event(Event::Oom { container_id: "c2".into() }))
        );
        assert_eq!(
            decode(&envelope(MARKER_TOPIC, MARKER_TYPE, b"7-1".to_vec())).unwrap(),
            Some(Decoded::Marker("7-1".into()))
        );
        let created =
            ImageCreate { name: "docker.io/library/app:1".into(), labels: Default::default() };
        let got = decode(&envelope(
            IMAGE_CREATE_TOPIC,
            "containerd.events.ImageCreate",
            created.encode_to_vec(),
        ))
        .unwrap();
        assert_eq!(
            got,
            Some(Decoded::Event(Event::ImageChanged {
                name: "docker.io/library/app:1".into(),
                created: true
            }))
        );
        let deleted = ImageDelete { name: "docker.io/library/app:1".into() };
        let got = decode(&envelope(
            IMAGE_DELETE_TOPIC,
            "containerd.events.ImageDelete",
            deleted.encode_to_vec(),
        ))
        .unwrap();
        assert_eq!(
            got,
            Some(Decoded::Event(Event::ImageDeleted { name: "docker.io/library/app:1".into() }))
        );
        assert_eq!(decode(&envelope("/tasks/start", "x", vec![])).unwrap(), None);
        assert!(
            decode(&envelope(EXIT_TOPIC, "x", vec![0xff, 0xff])).is_err(),
            "garbage is an error naming the topic"
        );
    }
}
