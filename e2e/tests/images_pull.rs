//! PullImage against Debian's docker-registry: references, media types, compressions,
//! platform selection, one download for concurrent pulls, authentication and mirrors.

use cricket::api::v1::AuthConfig;
use e2e::image_builder::{
    build, busybox_layer, index, random_layer, Compression, Flavour, ImageOptions,
};
use e2e::node::NAMESPACE;
use e2e::test_images::busybox_image;
use e2e::{Node, NodeOptions};

fn registry_node() -> Node {
    Node::start(NodeOptions { registry: true, ..Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_by_tag_and_by_digest_records_both_names_in_containerd() {
    let node = registry_node();
    node.wait_ready().await;
    let image = busybox_image();
    let reference = node.registry().push(&image, "e2e/busybox", "1");
    let mut cri = node.client().await;

    let id = cri.pull(&reference, None).await.unwrap();
    assert_eq!(id, image.config.digest, "image_ref is the config digest");
    let by_digest = format!("{}/e2e/busybox@{}", node.registry().host, image.manifest.digest);
    assert_eq!(cri.pull(&by_digest, None).await.unwrap(), id);

    let status = cri.image_status(&reference).await.unwrap().expect("pulled image is known");
    assert_eq!(status.id, id);
    assert_eq!(status.repo_tags, std::slice::from_ref(&reference));
    assert_eq!(status.repo_digests, std::slice::from_ref(&by_digest));
    assert!(status.size >= image.layers[0].blob.data.len() as u64);

    let names = node.containerd.image_names(NAMESPACE);
    assert!(names.contains(&reference) && names.contains(&by_digest), "{names:?}");
    let (_, check, _) = node.containerd.ctr(NAMESPACE, &["images", "check"]);
    let line = check.lines().find(|l| l.starts_with(&format!("{reference} "))).unwrap();
    assert!(line.trim_end().ends_with("true"), "unpacked: {line}");
    assert!(
        node.containerd.snapshot_keys(NAMESPACE).contains(&image.layers[0].diff_id),
        "the layer's snapshot is committed"
    );
    assert!(node.containerd.lease_ids(NAMESPACE).is_empty(), "no lease outlives the pull");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_and_oci_media_types_with_gzip_zstd_and_plain_layers() {
    let node = registry_node();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let cases = [
        ("oci-plain", Flavour::Oci, Compression::None),
        ("oci-gzip", Flavour::Oci, Compression::Gzip),
        ("oci-zstd", Flavour::Oci, Compression::Zstd),
        ("docker-gzip", Flavour::Docker, Compression::Gzip),
    ];
    for (tag, flavour, compression) in cases {
        let options = ImageOptions { flavour, compression, ..Default::default() };
        let image = build(&[busybox_layer(), random_layer(tag.len() as u64, 2, 4096)], &options);
        let reference = node.registry().push(&image, "e2e/shapes", tag);
        let id = cri.pull(&reference, None).await.unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(id, image.config.digest, "{tag}");
        let snapshots = node.containerd.snapshot_keys(NAMESPACE);
        let top = containerd_bridge::chain_ids(
            &image.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
        )
        .pop()
        .unwrap();
        assert!(snapshots.contains(&top), "{tag}: top layer unpacked to its chain ID");
    }
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_with_two_platforms_yields_this_hosts_image() {
    let node = registry_node();
    node.wait_ready().await;
    let host = containerd_bridge::oci_image::host_architecture();
    let other = if host == "amd64" { "arm64" } else { "amd64" };
    let native = build(
        &[busybox_layer()],
        &ImageOptions { architecture: host.into(), ..Default::default() },
    );
    let foreign = build(
        &[random_layer(7, 1, 1024)],
        &ImageOptions { architecture: other.into(), ..Default::default() },
    );
    for (tag, flavour) in [("oci", Flavour::Oci), ("docker", Flavour::Docker)] {
        let idx = index(&[(&foreign, other), (&native, host)], flavour);
        let reference = node.registry().push_index(&[&foreign, &native], &idx, "e2e/multi", tag);
        let mut cri = node.client().await;
        assert_eq!(cri.pull(&reference, None).await.unwrap(), native.config.digest, "{tag}");
        let digest_name = format!("{}/e2e/multi@{}", node.registry().host, idx.digest);
        assert!(
            node.containerd.image_names(NAMESPACE).contains(&digest_name),
            "recorded by the index digest"
        );
    }
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_of_one_image_download_each_blob_once() {
    let node = registry_node();
    node.wait_ready().await;
    let image = build(
        &[busybox_layer(), random_layer(1, 4, 256 * 1024), random_layer(2, 4, 256 * 1024)],
        &ImageOptions::default(),
    );
    let reference = node.registry().push(&image, "e2e/shared", "1");
    let pulls = (0..8).map(|_| {
        let reference = reference.clone();
        let client = node.client();
        async move { client.await.pull(&reference, None).await }
    });
    let ids = futures::future::join_all(pulls).await;
    assert!(ids.iter().all(|r| r.as_ref().ok() == Some(&image.config.digest)), "{ids:?}");
    for layer in &image.layers {
        let path = format!("/v2/e2e/shared/blobs/{}", layer.blob.digest);
        assert_eq!(node.registry().count_requests("GET", &path), 1, "{path} fetched once");
    }
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_images_sharing_layers_pull_concurrently() {
    let node = registry_node();
    node.wait_ready().await;
    let shared = random_layer(99, 4, 256 * 1024);
    let images: Vec<_> = (0..6u64)
        .map(|i| {
            build(
                &[busybox_layer(), shared.clone(), random_layer(i, 1, 1024)],
                &ImageOptions::default(),
            )
        })
        .collect();
    let references: Vec<String> = images
        .iter()
        .enumerate()
        .map(|(i, img)| node.registry().push(img, "e2e/family", &i.to_string()))
        .collect();
    let pulls = references.iter().map(|reference| {
        let client = node.client();
        async move { client.await.pull(reference, None).await }
    });
    let ids = futures::future::join_all(pulls).await;
    for (image, id) in images.iter().zip(&ids) {
        assert_eq!(id.as_ref().map_err(|e| e.to_string()), Ok(&image.config.digest));
    }
    assert_eq!(node.client().await.list_images().await.len(), 7, "six images and the pause image");
    assert!(node.containerd.lease_ids(NAMESPACE).is_empty());
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_with_htpasswd_refuses_without_credentials_and_accepts_them() {
    let auth = ("alice".to_string(), "s3cret-pass".to_string());
    let node = Node::start(NodeOptions {
        registry: true,
        registry_auth: Some(auth.clone()),
        ..Default::default()
    });
    node.wait_ready().await;
    let image = busybox_image();
    let reference = node.registry().push(&image, "e2e/private", "1");
    let mut cri = node.client().await;

    let err = cri.pull(&reference, None).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err}");
    let wrong =
        AuthConfig { username: auth.0.clone(), password: "wrong".into(), ..Default::default() };
    let err = cri.pull(&reference, Some(wrong)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err}");
    assert!(node.containerd.image_names(NAMESPACE).iter().all(|n| !n.contains("e2e/private")));

    let right =
        AuthConfig { username: auth.0.clone(), password: auth.1.clone(), ..Default::default() };
    assert_eq!(cri.pull(&reference, Some(right)).await.unwrap(), image.config.digest);
    cri.remove_image(&reference).await.unwrap();
    // The base64 `auth` form works too, with a client of its own (no cached credentials).
    let encoded =
        AuthConfig { auth: base64_encode(&format!("{}:{}", auth.0, auth.1)), ..Default::default() };
    assert_eq!(cri.pull(&reference, Some(encoded)).await.unwrap(), image.config.digest);

    let log = std::fs::read_to_string(&node.cricket.as_ref().unwrap().log).unwrap();
    assert!(!log.contains(&auth.1), "the password never reaches a log line");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_name_is_served_through_a_star_mirror_and_recorded_under_that_name() {
    // Isolated: should the mirror fail, the fallback to the real host cannot leave the machine.
    let mut node = Node::start(NodeOptions {
        registry: true,
        isolated_network: true,
        without_cricket: true,
        ..Default::default()
    });
    let mirror = format!("http://{}", node.registry().host);
    let extra = format!("\n[images.registries.\"{}\"]\ninsecure = true\n[images.registries.\"*\"]\nmirrors = [\"{mirror}\"]\n", node.registry().host);
    let config = e2e::cricket::write_config(&node.ws, &node.containerd.address, &extra);
    node.cricket = Some(e2e::cricket::Cricket::start_in(&node.ws, config, node.netns.as_deref()));
    node.wait_ready().await;
    let image = busybox_image();
    node.registry().push(&image, "e2e/mirrored", "1");
    let mut cri = node.client().await;

    let outside = "registry.k8s.io/e2e/mirrored:1";
    assert_eq!(cri.pull(outside, None).await.unwrap(), image.config.digest);
    let status = cri.image_status(outside).await.unwrap().unwrap();
    assert_eq!(status.repo_tags, [outside]);
    assert!(node.containerd.image_names(NAMESPACE).contains(&outside.to_string()));
    assert!(
        node.registry().count_requests("GET", "/v2/e2e/mirrored/manifests/1") >= 1,
        "served by the mirror"
    );
    node.finish();
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_on_the_node_itself_needs_no_config() {
    let node = Node::start(NodeOptions {
        registry: true,
        registry_unconfigured: true,
        ..Default::default()
    });
    node.wait_ready().await;
    let image = busybox_image();
    let by_ip = node.registry().push(&image, "e2e/local", "1");
    let port = node.registry().host.rsplit(':').next().unwrap().to_string();
    let mut cri = node.client().await;
    assert_eq!(
        cri.pull(&by_ip, None).await.expect("127.0.0.1 over plain HTTP"),
        image.config.digest
    );
    let by_name = format!("localhost:{port}/e2e/local:1");
    assert_eq!(
        cri.pull(&by_name, None).await.expect("localhost over plain HTTP"),
        image.config.digest
    );

    // Nothing listening: the message says so, not only the client's words.
    let nowhere = format!("127.0.0.1:{}/e2e/local:1", e2e::registry::free_port());
    let err = cri.pull(&nowhere, None).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err}");
    assert!(err.message().contains("connection refused"), "{}", err.message());
    node.finish();
}
