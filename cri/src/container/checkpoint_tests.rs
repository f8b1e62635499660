//! CheckpointContainer's refusals and failure cleanup, and a start from a checkpoint's CRIU
//! images, against the fakes of `crate::testing`.

use tonic::Code;

use crate::api::v1::{
    CheckpointContainerRequest, ContainerConfig, ContainerMetadata, CreateContainerRequest,
    ImageSpec, StartContainerRequest,
};
use crate::testing::{pod_config, TestNode};

async fn created(node: &TestNode) -> String {
    let pod = node.run_pod(pod_config("pod")).await.expect("RunPodSandbox");
    let config = crate::testing::container_config("app");
    let req =
        CreateContainerRequest { pod_sandbox_id: pod, config: Some(config), sandbox_config: None };
    super::create_container(&node.ctx, req).await.expect("CreateContainer").container_id
}

async fn start(node: &TestNode, id: &str) {
    let req = StartContainerRequest { container_id: id.into() };
    super::start_container(&node.ctx, req).await.expect("StartContainer");
}

async fn checkpoint(node: &TestNode, id: &str, location: &str) -> crate::error::Error {
    let req = CheckpointContainerRequest {
        container_id: id.into(),
        location: location.into(),
        timeout: 0,
    };
    super::checkpoint_container(&node.ctx, req).await.expect_err("refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_checkpoint_requests_name_the_field_and_dump_nothing() {
    let node = TestNode::new();
    let id = created(&node).await;
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("c.tar").display().to_string();
    for (container, at, code, field) in [
        ("", location.as_str(), Code::InvalidArgument, "container_id"),
        (id.as_str(), "c.tar", Code::InvalidArgument, "location"),
        (id.as_str(), "/", Code::InvalidArgument, "location"),
        ("nope", location.as_str(), Code::NotFound, "nope"),
        (id.as_str(), location.as_str(), Code::FailedPrecondition, "running"),
    ] {
        let e = checkpoint(&node, container, at).await;
        assert_eq!(e.code(), code, "{e:?}");
        assert!(e.message().contains(field), "{field}: {e:?}");
    }
    assert!(node.journal.starting("containerd checkpoint_task").is_empty());
    assert!(!dir.path().join("c.tar").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dump_leaves_no_archive_and_no_work_directory() {
    let node = TestNode::new();
    let id = created(&node).await;
    start(&node, &id).await;
    node.containerd.fail("checkpoint_task");
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("c.tar");
    let e = checkpoint(&node, &id, &location.display().to_string()).await;
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(!location.exists());
    let state = super::persist::dir(&node.ctx, &id);
    let names: Vec<_> =
        std::fs::read_dir(&state).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().starts_with("checkpoint-")), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_with_criu_images_is_restored_and_they_go_after() {
    let node = TestNode::new();
    let id = created(&node).await;
    let images = super::persist::dir(&node.ctx, &id).join("restore").join("checkpoint");
    std::fs::create_dir_all(&images).unwrap();
    start(&node, &id).await;
    assert_eq!(node.journal.starting("containerd create_restored_task").len(), 1);
    assert!(!images.exists(), "the CRIU images are removed once restored");
    // Without them, a start is a start.
    let other = {
        let pod = node.run_pod(pod_config("pod2")).await.unwrap();
        let config = ContainerConfig {
            metadata: Some(ContainerMetadata { name: "b".into(), attempt: 0 }),
            image: Some(ImageSpec {
                image: crate::pause_image::image_name(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let req = CreateContainerRequest {
            pod_sandbox_id: pod,
            config: Some(config),
            sandbox_config: None,
        };
        super::create_container(&node.ctx, req).await.unwrap().container_id
    };
    start(&node, &other).await;
    assert_eq!(node.journal.starting("containerd create_restored_task").len(), 1);
}
