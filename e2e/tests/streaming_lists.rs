//! The streaming lists of CRI 1.36 against the unary ones, with 200 containers in four pods:
//! the same items under every filter, delivered in more than one page, to cricket's own
//! client and to a Go client built from `k8s.io/cri-api` v0.37.

use std::collections::BTreeSet;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use futures::StreamExt;
use tonic::Streaming;

/// Every page of a streaming list, and how many pages there were.
async fn drain<T, I>(stream: Streaming<T>, items: impl Fn(T) -> Vec<I>) -> (Vec<I>, usize) {
    let pages: Vec<T> = stream.map(|p| p.unwrap()).collect().await;
    let n = pages.len();
    (pages.into_iter().flat_map(items).collect(), n)
}

fn by_id<T: Clone>(items: &[T], id: impl Fn(&T) -> String) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort_by_key(|i| id(i));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_lists_agree_with_the_unary_ones_for_200_containers() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pods = Vec::new();
    for p in 0..4 {
        let mut pod = Pod::start(&node, pod_config(&node, &format!("lists-{p}"))).await;
        for c in 0..50 {
            let mut config = shell(&pod.image.clone(), &format!("c{c}"), "sleep 1000");
            config.labels.insert("half".into(), (c % 2).to_string());
            if (p, c) == (0, 0) {
                config.stop_signal = Signal::Sigusr1 as i32;
            }
            if c < 3 {
                pod.run(config).await;
            } else {
                pod.create(config).await.unwrap();
            }
        }
        pods.push(pod);
    }
    let rt = &mut pods[0].cri.runtime.clone();
    let pod1 = pods[1].id.clone();

    let filters = [
        ContainerFilter::default(),
        ContainerFilter { pod_sandbox_id: pod1.clone(), ..Default::default() },
        ContainerFilter {
            label_selector: [("half".to_string(), "1".to_string())].into(),
            ..Default::default()
        },
        ContainerFilter {
            state: Some(ContainerStateValue { state: ContainerState::ContainerRunning as i32 }),
            ..Default::default()
        },
    ];
    let mut sizes = Vec::new();
    for filter in filters {
        let unary = rt
            .list_containers(ListContainersRequest { filter: Some(filter.clone()) })
            .await
            .unwrap()
            .into_inner()
            .containers;
        let stream = rt
            .stream_containers(StreamContainersRequest { filter: Some(filter) })
            .await
            .unwrap()
            .into_inner();
        let (streamed, pages) = drain(stream, |p| p.containers).await;
        assert_eq!(by_id(&streamed, |c| c.id.clone()), by_id(&unary, |c| c.id.clone()));
        sizes.push((unary.len(), pages));
    }
    assert_eq!(sizes, vec![(200, 2), (50, 1), (100, 1), (12, 1)]);

    let unary = rt
        .list_pod_sandbox(ListPodSandboxRequest { filter: None })
        .await
        .unwrap()
        .into_inner()
        .items;
    let stream = rt.stream_pod_sandboxes(StreamPodSandboxesRequest { filter: None }).await;
    let (streamed, _) = drain(stream.unwrap().into_inner(), |p| p.pod_sandboxes).await;
    assert_eq!(unary.len(), 4);
    assert_eq!(by_id(&streamed, |p| p.id.clone()), by_id(&unary, |p| p.id.clone()));

    // Stats carry a time of sampling, so the two answers are compared by what they cover.
    let filter = ContainerStatsFilter { pod_sandbox_id: pod1.clone(), ..Default::default() };
    let unary: BTreeSet<String> = rt
        .list_container_stats(ListContainerStatsRequest { filter: Some(filter.clone()) })
        .await
        .unwrap()
        .into_inner()
        .stats
        .into_iter()
        .map(|s| s.attributes.unwrap().id)
        .collect();
    let stream = rt.stream_container_stats(StreamContainerStatsRequest { filter: Some(filter) });
    let (streamed, _) = drain(stream.await.unwrap().into_inner(), |p| p.container_stats).await;
    let streamed: BTreeSet<String> =
        streamed.into_iter().map(|s| s.attributes.unwrap().id).collect();
    assert_eq!((streamed.len(), &streamed), (50, &unary));
    let (all, pages) = drain(
        rt.stream_container_stats(StreamContainerStatsRequest { filter: None })
            .await
            .unwrap()
            .into_inner(),
        |p| p.container_stats,
    )
    .await;
    assert_eq!((all.len(), pages), (200, 2));

    let pod_ids: BTreeSet<String> = pods.iter().map(|p| p.id.clone()).collect();
    let stream = rt.stream_pod_sandbox_stats(StreamPodSandboxStatsRequest { filter: None });
    let (stats, _) = drain(stream.await.unwrap().into_inner(), |p| p.pod_sandbox_stats).await;
    let ids: BTreeSet<String> = stats.into_iter().map(|s| s.attributes.unwrap().id).collect();
    assert_eq!(ids, pod_ids);
    let stream = rt.stream_pod_sandbox_metrics(StreamPodSandboxMetricsRequest {});
    let (metrics, _) = drain(stream.await.unwrap().into_inner(), |p| p.pod_sandbox_metrics).await;
    let ids: BTreeSet<String> = metrics.into_iter().map(|m| m.pod_sandbox_id).collect();
    assert_eq!(ids, pod_ids);

    let images = &mut pods[0].cri.image;
    let unary = images.list_images(ListImagesRequest { filter: None }).await.unwrap();
    let stream = images.stream_images(StreamImagesRequest { filter: None }).await.unwrap();
    let (streamed, _) = drain(stream.into_inner(), |p| p.images).await;
    let unary = unary.into_inner().images;
    assert!(!unary.is_empty());
    assert_eq!(by_id(&streamed, |i| i.id.clone()), by_id(&unary, |i| i.id.clone()));

    // The same through a Go client of cri-api v0.37: its streams, and the stop signals' names.
    let client = e2e::critest_images::cri_client_binary();
    let socket = node.ws.run("cricket.sock");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(client).arg(socket).output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let go: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (list, count, pages) in [("containers", 200, 2), ("pods", 4, 1)] {
        assert_eq!(go[list]["unary"], go[list]["streamed"], "{list}");
        assert_eq!(go[list]["unary"].as_array().unwrap().len(), count, "{list}");
        assert_eq!(go[list]["pages"], pages, "{list}");
    }
    assert_eq!(go["images"]["unary"], go["images"]["streamed"]);
    let signals = go["stopSignals"].as_object().unwrap();
    let usr1: Vec<_> = signals.values().filter(|s| *s == "SIGNAL_SIGUSR1").collect();
    let term = signals.values().filter(|s| *s == "SIGNAL_SIGTERM").count();
    assert_eq!((usr1.len(), term), (1, 199), "{signals:?}");

    for pod in pods {
        pod.remove().await;
    }
    node.finish();
}
