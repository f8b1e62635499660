//! Failed pulls: each answers a status that names the problem and leaves nothing behind: no
//! image record, no content beyond what was there, no lease.

use std::time::Duration;

use cricket::api::v1::{ImageSpec, PullImageRequest};
use e2e::image_builder::{build, busybox_layer, random_layer, ImageOptions};
use e2e::node::NAMESPACE;
use e2e::raw_h2::RawH2;
use e2e::registry::free_port;
use e2e::test_images::busybox_image;
use e2e::{eventually, Node, NodeOptions};
use prost::Message;
use tonic::Code;

/// What the content store and image records hold before a failing pull.
fn snapshot(node: &Node) -> (Vec<String>, Vec<String>) {
    (node.containerd.content_digests(NAMESPACE), node.containerd.image_names(NAMESPACE))
}

fn assert_nothing_left(node: &Node, before: &(Vec<String>, Vec<String>), what: &str) {
    assert_eq!(&snapshot(node), before, "{what}: content and image records are as before");
    assert!(node.containerd.lease_ids(NAMESPACE).is_empty(), "{what}: no lease left");
    let (_, active, _) = node.containerd.ctr(NAMESPACE, &["content", "active"]);
    assert_eq!(active.lines().skip(1).count(), 0, "{what}: no half-written blob: {active}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_references_unknown_images_and_unreachable_registries() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.wait_ready().await;
    let host = node.registry().host.clone();
    node.registry().push(&busybox_image(), "e2e/known", "1");
    let mut cri = node.client().await;
    let before = snapshot(&node);

    for (reference, code, words) in [
        (String::new(), Code::InvalidArgument, "image.image"),
        ("UPPER/case:1".to_string(), Code::InvalidArgument, "image.image"),
        ("a b".to_string(), Code::InvalidArgument, "image.image"),
        (format!("{host}/e2e/unknown:1"), Code::NotFound, "e2e/unknown"),
        (format!("{host}/e2e/known:nope"), Code::NotFound, "e2e/known:nope"),
        (format!("127.0.0.1:{}/e2e/x:1", free_port()), Code::Unavailable, "e2e/x"),
    ] {
        let err = cri.pull(&reference, None).await.unwrap_err();
        assert_eq!(err.code(), code, "{reference:?}: {err}");
        assert!(err.message().contains(words), "{reference:?}: {}", err.message());
        assert_nothing_left(&node, &before, &reference);
    }
    let err = cri.image_status("").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = cri.remove_image("").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_layer_is_data_loss_and_leaves_nothing() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.wait_ready().await;
    let image = build(&[busybox_layer(), random_layer(5, 2, 64 * 1024)], &ImageOptions::default());
    let reference = node.registry().push(&image, "e2e/corrupt", "1");
    node.registry().corrupt_blob(&image.layers[1].blob.digest);
    let before = snapshot(&node);

    let err = node.client().await.pull(&reference, None).await.unwrap_err();
    assert_eq!(err.code(), Code::DataLoss, "{err}");
    assert_nothing_left(&node, &before, "corrupted layer");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_killed_midway_leaves_nothing_after_the_restart() {
    // Every host plain HTTP: the pull goes through a slow proxy on another port.
    let extra = "[images.registries.\"*\"]\ninsecure = true\n".to_string();
    let mut node =
        Node::start(NodeOptions { registry: true, extra_config: extra, ..Default::default() });
    node.wait_ready().await;
    let image = build(&[busybox_layer(), random_layer(11, 8, 1 << 20)], &ImageOptions::default());
    node.registry().push(&image, "e2e/slow", "1");
    let proxy = e2e::throttle::start(node.registry().host.clone(), 1 << 20).await;
    let before = snapshot(&node);

    let reference = format!("{proxy}/e2e/slow:1");
    let mut cri = node.client().await;
    let pull = tokio::spawn(async move { cri.pull(&reference, None).await });
    let writing = eventually(Duration::from_secs(15), || {
        let (_, active, _) = node.containerd.ctr(NAMESPACE, &["content", "active"]);
        async move { (active.lines().count() > 1).then_some(()) }
    })
    .await;
    assert!(writing.is_some(), "the pull should be writing a layer by now");
    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).expect("killed");
    assert!(pull.await.unwrap().is_err(), "the caller sees the pull fail");
    assert!(
        !node.containerd.lease_ids(NAMESPACE).is_empty(),
        "the dead pull's lease is still there"
    );

    node.cricket().start_again();
    node.wait_ready().await;
    assert_nothing_left(&node, &before, "after the restart");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_without_progress_fails_after_the_progress_timeout() {
    let extra = "[images]\nimage_pull_progress_timeout = \"2s\"\n[images.registries.\"*\"]\ninsecure = true\n".to_string();
    let node =
        Node::start(NodeOptions { registry: true, extra_config: extra, ..Default::default() });
    node.wait_ready().await;
    let image = build(&[busybox_layer(), random_layer(12, 4, 1 << 20)], &ImageOptions::default());
    node.registry().push(&image, "e2e/hang", "1");
    // Enough for the manifest and config, not for the layers.
    let proxy = e2e::throttle::start_with(node.registry().host.clone(), 8 << 20, 64 * 1024).await;
    let before = snapshot(&node);

    let started = std::time::Instant::now();
    let err = node.client().await.pull(&format!("{proxy}/e2e/hang:1"), None).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "gave up after {:?}", started.elapsed());
    assert_nothing_left(&node, &before, "stalled pull");
    node.finish();
}

/// A node whose registry has an 8 MiB image as `repository:1`, served through a proxy at
/// 1 MiB/s; the proxy's address and what the node held before.
async fn node_with_a_slow_image(
    seed: u64,
    repository: &str,
) -> (Node, String, (Vec<String>, Vec<String>)) {
    let extra = "[images.registries.\"*\"]\ninsecure = true\n".to_string();
    let node =
        Node::start(NodeOptions { registry: true, extra_config: extra, ..Default::default() });
    node.wait_ready().await;
    let image = build(&[busybox_layer(), random_layer(seed, 8, 1 << 20)], &ImageOptions::default());
    node.registry().push(&image, repository, "1");
    let proxy = e2e::throttle::start(node.registry().host.clone(), 1 << 20).await;
    let before = snapshot(&node);
    (node, proxy, before)
}

/// Waits (up to 15 s) until content, image records and leases are as `before`.
async fn rolled_back(node: &Node, before: &(Vec<String>, Vec<String>)) -> Option<()> {
    eventually(Duration::from_secs(15), || {
        let done = &snapshot(node) == before && node.containerd.lease_ids(NAMESPACE).is_empty();
        async move { done.then_some(()) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_cancelled_by_its_only_caller_leaves_nothing() {
    let (node, proxy, before) = node_with_a_slow_image(13, "e2e/cancel").await;

    let mut cri = node.client().await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(1500),
        cri.pull(&format!("{proxy}/e2e/cancel:1"), None),
    )
    .await;
    assert!(gave_up.is_err(), "the pull takes longer than the caller waits");
    let clean = rolled_back(&node, &before).await;
    assert!(clean.is_some(), "the cancelled pull was rolled back");
    assert_nothing_left(&node, &before, "cancelled pull");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_past_its_grpc_deadline_is_deadline_exceeded_and_leaves_nothing() {
    let (node, proxy, before) = node_with_a_slow_image(14, "e2e/deadline").await;

    // A raw client: tonic's and grpc-go's clients end the call by their own timer, and the
    // answer to check is the server's.
    let socket = node.ws.run("cricket.sock");
    let spec = ImageSpec { image: format!("{proxy}/e2e/deadline:1"), ..Default::default() };
    let request =
        PullImageRequest { image: Some(spec), auth: None, sandbox_config: None }.encode_to_vec();
    let reply = tokio::task::spawn_blocking(move || {
        let mut h2 = RawH2::connect(&socket).expect("connect");
        h2.unary(
            "/runtime.v1.ImageService/PullImage",
            "localhost",
            &[("grpc-timeout", "800m")],
            &request,
            1,
        )
        .expect("call answered")
    })
    .await
    .unwrap();
    assert_eq!(reply.header("grpc-status"), Some("4"), "DeadlineExceeded: {reply:?}");
    let clean = rolled_back(&node, &before).await;
    assert!(clean.is_some(), "the pull past its deadline was rolled back");
    assert_nothing_left(&node, &before, "pull past its deadline");
    node.finish();
}
