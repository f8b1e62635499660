//! GetContainerEvents: two subscribers each see a pod's and its container's whole life in
//! order, with the statuses as they were at each step; SIGTERM ends the streams cleanly.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use futures::StreamExt;

type Events = tonic::Streaming<ContainerEventResponse>;

async fn subscribe(pod_cri: &e2e::cri_client::CriClient) -> Events {
    pod_cri.clone().runtime.get_container_events(GetEventsRequest {}).await.unwrap().into_inner()
}

async fn take(events: &mut Events, n: usize) -> Vec<ContainerEventResponse> {
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(Ok(e))) => got.push(e),
            other => panic!("after {} events: {other:?}", got.len()),
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_the_pod_and_container_lifecycle_in_order() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let cri = node.client().await;
    let (mut first, mut second) = (subscribe(&cri).await, subscribe(&cri).await);

    let mut pod = Pod::start(&node, pod_config(&node, "watched")).await;
    let image = pod.image.clone();
    let id = pod.run(shell(&image, "brief", "exit 4")).await;
    pod.wait_exited(&node, &id).await;
    pod.cri
        .runtime
        .remove_container(RemoveContainerRequest { container_id: id.clone() })
        .await
        .unwrap();
    let pod_id = pod.id.clone();
    pod.remove().await;

    use ContainerEventType::*;
    let want = [
        (&pod_id, ContainerCreatedEvent),
        (&pod_id, ContainerStartedEvent),
        (&id, ContainerCreatedEvent),
        (&id, ContainerStartedEvent),
        (&id, ContainerStoppedEvent),
        (&id, ContainerDeletedEvent),
        (&pod_id, ContainerStoppedEvent),
        (&pod_id, ContainerDeletedEvent),
    ];
    for events in [&mut first, &mut second] {
        let got = take(events, want.len()).await;
        let seen: Vec<(String, i32)> =
            got.iter().map(|e| (e.container_id.clone(), e.container_event_type)).collect();
        let expected: Vec<(String, i32)> =
            want.iter().map(|(i, t)| (i.to_string(), *t as i32)).collect();
        assert_eq!(seen, expected);
        assert!(got.windows(2).all(|w| w[0].created_at <= w[1].created_at), "timestamps in order");

        let pod_state = |e: &ContainerEventResponse| e.pod_sandbox_status.as_ref().map(|s| s.state);
        assert_eq!(pod_state(&got[0]), Some(PodSandboxState::SandboxReady as i32));
        assert_eq!(got[0].pod_sandbox_status.as_ref().unwrap().id, pod_id);
        let brief = |e: &ContainerEventResponse| {
            e.containers_statuses.iter().find(|s| s.id == id).map(|s| (s.state, s.exit_code))
        };
        assert_eq!(brief(&got[2]), Some((ContainerState::ContainerCreated as i32, 0)));
        assert_eq!(
            brief(&got[3]),
            Some((ContainerState::ContainerRunning as i32, 0)),
            "STARTED precedes even an instant exit"
        );
        assert_eq!(
            brief(&got[4]),
            Some((ContainerState::ContainerExited as i32, 4)),
            "STOPPED carries the exit"
        );
        assert_eq!(brief(&got[5]), None, "DELETED: the container is gone from the pod");
        assert_eq!(pod_state(&got[6]), Some(PodSandboxState::SandboxNotready as i32));
        assert_eq!(pod_state(&got[7]), None, "DELETED: the pod is gone");
    }
    // SIGTERM ends the streams cleanly (an OK status), rather than holding up shutdown until
    // the process exits under them.
    let mut node = node;
    node.cricket().signal_and_wait(libc::SIGTERM, Duration::from_secs(20)).expect("cricket exits");
    for events in [&mut first, &mut second] {
        let end = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("the stream ended");
        assert!(end.is_none(), "a clean end of stream, not {end:?}");
    }
    node.cricket().start_again();
    node.finish();
}
