//! CheckpointPod's guarantee that no container is left frozen and no partial checkpoint is
//! left behind, against the fakes of `crate::testing`.

use tonic::Code;

use crate::api::v1::{CheckpointPodRequest, CreateContainerRequest, StartContainerRequest};
use crate::testing::{pod_config, TestNode};
use containerd_bridge::TaskState;

async fn running(node: &TestNode, pod: &str, name: &str) -> String {
    let config = crate::testing::container_config(name);
    let req = CreateContainerRequest {
        pod_sandbox_id: pod.into(),
        config: Some(config),
        sandbox_config: None,
    };
    let id = crate::container::create_container(&node.ctx, req).await.unwrap().container_id;
    let start = StartContainerRequest { container_id: id.clone() };
    crate::container::start_container(&node.ctx, start).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dump_resumes_every_container_and_leaves_no_file() {
    let node = TestNode::new();
    let pod = node.run_pod(pod_config("pod")).await.unwrap();
    let (a, b) = (running(&node, &pod, "a").await, running(&node, &pod, "b").await);
    node.containerd.fail("checkpoint_task");
    let out = tempfile::tempdir().unwrap();
    let req = CheckpointPodRequest {
        pod_sandbox_id: pod.clone(),
        output_path: out.path().display().to_string(),
        container_ids: vec![a.clone(), b.clone()],
        options: Default::default(),
    };
    let e = super::checkpoint_pod(&node.ctx, req).await.expect_err("the dump fails");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    for id in [&a, &b] {
        assert_eq!(node.containerd.task(id).unwrap().state, TaskState::Running, "{id} resumed");
    }
    assert_eq!(node.journal.starting("containerd pause_task").len(), 2, "both paused first");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "no partial checkpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_of_another_pod_or_not_running_is_refused_by_field() {
    let node = TestNode::new();
    let pod = node.run_pod(pod_config("pod")).await.unwrap();
    let other = node.run_pod(pod_config("other")).await.unwrap();
    let theirs = running(&node, &other, "x").await;
    let out = tempfile::tempdir().unwrap();
    let req = |ids: Vec<String>| CheckpointPodRequest {
        pod_sandbox_id: pod.clone(),
        output_path: out.path().display().to_string(),
        container_ids: ids,
        options: Default::default(),
    };
    let e = super::checkpoint_pod(&node.ctx, req(vec![theirs])).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("container_ids[0]"), "{e:?}");
    let e = super::checkpoint_pod(&node.ctx, req(vec![])).await.unwrap_err();
    assert!(e.message().contains("container_ids"), "{e:?}");
    assert!(node.journal.starting("containerd pause_task").is_empty());
}
