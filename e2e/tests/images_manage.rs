//! ListImages, ImageStatus, RemoveImage and ImageFsInfo, and the image store surviving a
//! restart of cricket.

use std::time::Duration;

use cricket::api::v1::{
    ImageFilter, ImageFsInfoRequest, ImageSpec, ImageStatusRequest, ListImagesRequest,
};
use e2e::image_builder::{build, busybox_layer, ImageOptions};
use e2e::node::NAMESPACE;
use e2e::test_images::busybox_image;
use e2e::{Node, NodeOptions};

fn registry_node() -> Node {
    Node::start(NodeOptions { registry: true, ..Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tags_are_one_image_removing_one_removes_all_and_a_restart_keeps_them() {
    let mut node = registry_node();
    node.wait_ready().await;
    let image = busybox_image();
    let one = node.registry().push(&image, "e2e/tags", "1");
    let two = node.registry().push(&image, "e2e/tags", "2");
    let mut cri = node.client().await;
    assert_eq!(cri.pull(&one, None).await.unwrap(), cri.pull(&two, None).await.unwrap());

    let listed: Vec<_> =
        cri.list_images().await.into_iter().filter(|i| i.id == image.config.digest).collect();
    assert_eq!(listed.len(), 1, "one entry for both tags");
    assert_eq!(listed[0].repo_tags, [one.clone(), two.clone()]);

    // kill -9 and back: the store is rebuilt from containerd with the same IDs and names.
    node.cricket().signal_and_wait(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    node.cricket().start_again();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let status = cri.image_status(&two).await.unwrap().expect("known after a restart");
    assert_eq!(status.id, image.config.digest);
    assert_eq!(status.repo_tags, [one.clone(), two.clone()]);

    cri.remove_image(&one).await.unwrap();
    assert!(cri.image_status(&two).await.unwrap().is_none(), "removing one tag removed every name");
    assert!(node.containerd.image_names(NAMESPACE).iter().all(|n| !n.contains("e2e/tags")));
    assert!(
        !node.containerd.content_digests(NAMESPACE).contains(&image.layers[0].blob.digest),
        "the layer went with the last name"
    );
    cri.remove_image(&one).await.expect("removing an absent image is success");
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_status_finds_any_reference_and_reports_user_pinned_and_verbose_config() {
    let node = registry_node();
    node.wait_ready().await;
    let numeric =
        build(&[busybox_layer()], &ImageOptions { user: "1000:1000".into(), ..Default::default() });
    let named = build(
        &[busybox_layer()],
        &ImageOptions {
            user: "nobody".into(),
            cmd: vec!["/bin/true".into()],
            ..Default::default()
        },
    );
    let numeric_ref = node.registry().push(&numeric, "e2e/users", "numeric");
    let named_ref = node.registry().push(&named, "e2e/users", "named");
    let mut cri = node.client().await;
    let id = cri.pull(&numeric_ref, None).await.unwrap();
    cri.pull(&named_ref, None).await.unwrap();

    let digest_ref = format!("{}/e2e/users@{}", node.registry().host, numeric.manifest.digest);
    let short_id = id.trim_start_matches("sha256:")[..12].to_string();
    for reference in [numeric_ref.as_str(), digest_ref.as_str(), id.as_str(), short_id.as_str()] {
        let found = cri
            .image_status(reference)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{reference} not found"));
        assert_eq!(found.id, id, "{reference}");
    }
    let status = cri.image_status(&numeric_ref).await.unwrap().unwrap();
    assert_eq!(status.uid.map(|u| u.value), Some(1000));
    assert!(!status.pinned);
    let status = cri.image_status(&named_ref).await.unwrap().unwrap();
    assert_eq!((status.uid, status.username.as_str()), (None, "nobody"));
    let pause = cri
        .image_status(&format!("localhost/cricket/pause:{}", cricket::VERSION))
        .await
        .unwrap()
        .unwrap();
    assert!(pause.pinned, "the sandbox image is pinned");

    assert!(cri
        .image_status(&format!("{}/e2e/users:absent", node.registry().host))
        .await
        .unwrap()
        .is_none());
    let verbose = cri
        .image
        .image_status(ImageStatusRequest {
            image: Some(ImageSpec { image: named_ref.clone(), ..Default::default() }),
            verbose: true,
        })
        .await
        .unwrap()
        .into_inner();
    let info: serde_json::Value = serde_json::from_str(&verbose.info["info"]).unwrap();
    assert_eq!(info["imageSpec"]["config"]["Cmd"][0], "/bin/true");

    let filter = ListImagesRequest {
        filter: Some(ImageFilter {
            image: Some(ImageSpec { image: named_ref.clone(), ..Default::default() }),
        }),
    };
    let filtered = cri.image.list_images(filter).await.unwrap().into_inner().images;
    let ids: Vec<&str> = filtered.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [named.config.digest.as_str()]);
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_fs_info_reports_the_snapshotters_directory_and_usage() {
    let node = registry_node();
    node.wait_ready().await;
    let mut cri = node.client().await;
    let info = cri.image.image_fs_info(ImageFsInfoRequest {}).await.unwrap().into_inner();
    let fs = &info.image_filesystems[0];
    let mountpoint = fs.fs_id.as_ref().unwrap().mountpoint.clone();
    assert!(mountpoint.starts_with(&node.ws.lib_dir.display().to_string()), "{mountpoint}");
    assert!(mountpoint.ends_with("io.containerd.snapshotter.v1.overlayfs"), "{mountpoint}");
    assert!(fs.used_bytes.as_ref().unwrap().value > 0, "the pause image's layer is counted");
    assert!(fs.inodes_used.as_ref().unwrap().value > 0);
    assert_eq!(info.container_filesystems.len(), 1);
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_sandbox_image_is_pulled_at_start_and_pinned() {
    let mut node =
        Node::start(NodeOptions { registry: true, without_cricket: true, ..Default::default() });
    let image = busybox_image();
    let reference = node.registry().push(&image, "e2e/sandbox", "3.9");
    let extra = format!(
        "[images]\nsandbox_image = \"{reference}\"\n[images.registries.\"{}\"]\ninsecure = true\n",
        node.registry().host
    );
    let config = e2e::cricket::write_config(&node.ws, &node.containerd.address, &extra);
    node.cricket = Some(e2e::cricket::Cricket::start(&node.ws, config));
    node.wait_ready().await;
    let mut cri = node.client().await;
    let status = cri.image_status(&reference).await.unwrap().expect("pulled before RuntimeReady");
    assert!(status.pinned);
    assert_eq!(status.id, image.config.digest);
    let builtin = format!("localhost/cricket/pause:{}", cricket::VERSION);
    assert!(
        !node.containerd.image_names(NAMESPACE).contains(&builtin),
        "no built-in pause image when one is configured"
    );
    node.finish();
}

/// What another client does to the namespace's images (`ctr images pull`, `kind load`'s
/// import, `ctr images tag` and `rm`) shows in ListImages at once, and such an image runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_other_clients_add_and_remove_are_seen_without_a_restart() {
    let node = registry_node();
    node.write_cni_config();
    node.wait_ready().await;
    let image = busybox_image();
    let reference = node.registry().push(&image, "e2e/by-ctr", "1");
    let mut cri = node.client().await;
    assert!(cri.image_status(&reference).await.unwrap().is_none());

    node.containerd.ctr_ok(NAMESPACE, &["images", "pull", "--plain-http", &reference]);
    let seen = e2e::eventually(Duration::from_secs(5), || {
        let mut cri = cri.clone();
        let reference = reference.clone();
        async move { cri.image_status(&reference).await.unwrap() }
    })
    .await
    .expect("an image pulled with ctr appears");
    assert_eq!(seen.id, image.config.digest);

    let other = format!("{}/e2e/by-ctr:tagged", node.registry().host);
    node.containerd.ctr_ok(NAMESPACE, &["images", "tag", &reference, &other]);
    let tagged = e2e::eventually(Duration::from_secs(5), || {
        let mut cri = cri.clone();
        let other = other.clone();
        async move { cri.image_status(&other).await.unwrap().filter(|s| s.repo_tags.len() == 2) }
    })
    .await
    .expect("a tag made with ctr appears");
    assert_eq!(tagged.repo_tags, [reference.clone(), other.clone()]);

    // It runs: a pod and a container from the image cricket never pulled itself.
    let mut pod =
        e2e::workload::Pod::start(&node, e2e::workload::pod_config(&node, "ctr-image")).await;
    let (status, lines) =
        pod.output_of(&node, e2e::workload::shell(&other, "hello", "echo from ctr"), 1).await;
    assert_eq!((status.exit_code, lines), (0, vec!["from ctr".to_string()]));
    pod.remove().await;

    node.containerd.ctr_ok(NAMESPACE, &["images", "rm", &other]);
    let gone = e2e::eventually(Duration::from_secs(5), || {
        let mut cri = cri.clone();
        let other = other.clone();
        async move { cri.image_status(&other).await.unwrap().is_none().then_some(()) }
    })
    .await;
    assert!(gone.is_some(), "a tag removed with ctr goes");
    assert!(cri.image_status(&reference).await.unwrap().is_some(), "the other name stays");
    node.finish();
}
