//! CreateContainer's rollback, StartContainer's failure record and the exit handling, against
//! the fakes of `crate::testing`.

use crate::api::v1::{
    ContainerConfig, ContainerMetadata, CreateContainerRequest, ImageSpec, LinuxContainerResources,
    RemoveContainerRequest, StartContainerRequest, StopContainerRequest,
    UpdateContainerResourcesRequest,
};
use tonic::Code;

use crate::adapters::containerd_lifecycle::Lifecycle;
use crate::store::containers::ContainerState;
use crate::testing::{pod_config, TestNode};

async fn node_with_pod() -> (TestNode, String) {
    let node = TestNode::new();
    let pod = node.run_pod(pod_config("pod")).await.expect("RunPodSandbox");
    (node, pod)
}

async fn create(node: &TestNode, pod: &str, name: &str) -> Result<String, crate::error::Error> {
    let config = crate::testing::container_config(name);
    let req = CreateContainerRequest {
        pod_sandbox_id: pod.into(),
        config: Some(config),
        sandbox_config: None,
    };
    super::create_container(&node.ctx, req).await.map(|r| r.container_id)
}

async fn start(node: &TestNode, id: &str) -> Result<(), crate::error::Error> {
    let req = StartContainerRequest { container_id: id.into() };
    super::start_container(&node.ctx, req).await.map(drop)
}

fn state(node: &TestNode, id: &str) -> (ContainerState, i32, String) {
    let s = node.ctx.containers.get(id).expect("in the store").status;
    (s.state, s.exit_code, s.reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_container_has_a_record_and_a_snapshot_and_no_lease() {
    let (node, pod) = node_with_pod().await;
    let id = create(&node, &pod, "app").await.expect("CreateContainer");
    assert_eq!(state(&node, &id).0, ContainerState::Created);
    assert!(node.containerd.container_ids().contains(&id));
    assert_eq!(node.containerd.snapshots(), vec![id.clone()]);
    assert_eq!(node.containerd.leases(), Vec::<String>::new(), "the lease is let go");
    let e = create(&node, &pod, "app").await.expect_err("the same name again");
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_leaves_nothing_and_frees_the_name() {
    let (node, pod) = node_with_pod().await;
    node.containerd.fail("create_container");
    let e = create(&node, &pod, "app").await.expect_err("containerd refuses");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert_eq!(node.containerd.container_ids(), vec![pod.clone()], "only the pod's record");
    assert_eq!(node.containerd.snapshots(), Vec::<String>::new(), "the snapshot went");
    assert_eq!(node.containerd.leases(), Vec::<String>::new());
    assert!(node.ctx.containers.list().is_empty());
    let dirs = std::fs::read_dir(node.ctx.config.root_dir.join("containers"));
    assert_eq!(dirs.map(|d| d.count()).unwrap_or(0), 0, "no container directory");
    node.containerd.heal("create_container");
    create(&node, &pod, "app").await.expect("the name is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_create_requests_name_the_field() {
    let (node, pod) = node_with_pod().await;
    let e = create(&node, "no-such-pod", "app").await.expect_err("unknown pod");
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = create(&node, &pod, "").await.expect_err("no name");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("config.metadata.name"), "{e:?}");
    assert_eq!(node.containerd.snapshots(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_fails_reads_start_error_and_leaves_no_task() {
    let (node, pod) = node_with_pod().await;
    let id = create(&node, &pod, "app").await.unwrap();
    node.containerd.fail("start_task");
    let e = start(&node, &id).await.expect_err("start fails");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert_eq!(state(&node, &id), (ContainerState::Exited, 128, "StartError".into()));
    assert!(node.containerd.task(&id).is_none(), "the created task is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_is_recorded_once_and_its_task_deleted() {
    let (node, pod) = node_with_pod().await;
    let id = create(&node, &pod, "app").await.unwrap();
    start(&node, &id).await.expect("StartContainer");
    assert_eq!(state(&node, &id).0, ContainerState::Running);
    node.containerd.exit_task(&id, 3);
    super::exits::container_exited(&node.ctx, &id, 3, 42).await;
    assert_eq!(state(&node, &id), (ContainerState::Exited, 3, "Error".into()));
    assert!(node.containerd.task(&id).is_none(), "the task is deleted");
    let on_disk = super::persist::load_status(&node.ctx, &id).expect("a status file");
    assert_eq!((on_disk.exit_code, on_disk.finished_at_ns), (3, 42));
    // The same exit again (an event after a resync) changes nothing.
    super::exits::container_exited(&node.ctx, &id, 0, 99).await;
    assert_eq!(state(&node, &id), (ContainerState::Exited, 3, "Error".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_event_on_either_side_of_the_exit_reads_oomkilled() {
    let (node, pod) = node_with_pod().await;
    let (before, after) =
        (create(&node, &pod, "a").await.unwrap(), create(&node, &pod, "b").await.unwrap());
    for id in [&before, &after] {
        start(&node, id).await.unwrap();
    }
    super::exits::record_oom(&node.ctx, &before);
    super::exits::container_exited(&node.ctx, &before, 137, 1).await;
    super::exits::container_exited(&node.ctx, &after, 137, 1).await;
    super::exits::record_oom(&node.ctx, &after);
    for id in [&before, &after] {
        assert_eq!(state(&node, id), (ContainerState::Exited, 137, "OOMKilled".into()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_records_what_no_event_brought_and_waits_out_an_unreachable_containerd() {
    let (node, pod) = node_with_pod().await;
    let [exited, gone, unknown] = ["a", "b", "c"].map(|n| n.to_string());
    let mut ids = Vec::new();
    for name in [&exited, &gone, &unknown] {
        let id = create(&node, &pod, name).await.unwrap();
        start(&node, &id).await.unwrap();
        ids.push(id);
    }
    node.containerd.exit_task(&ids[0], 0);
    node.containerd.lose_task(&ids[1]);
    super::exits::reconcile(&node.ctx, &ids[0]).await;
    super::exits::reconcile(&node.ctx, &ids[1]).await;
    node.containerd.fail("task_state");
    super::exits::reconcile(&node.ctx, &ids[2]).await;
    assert_eq!(state(&node, &ids[0]), (ContainerState::Exited, 0, "Completed".into()));
    assert!(node.containerd.task(&ids[0]).is_none());
    assert_eq!(state(&node, &ids[1]), (ContainerState::Exited, 255, "Unknown".into()));
    assert_eq!(state(&node, &ids[2]).0, ContainerState::Running, "unknown is not exited");
}

async fn running(node: &TestNode, pod: &str, name: &str) -> String {
    let id = create(node, pod, name).await.expect("CreateContainer");
    start(node, &id).await.expect("StartContainer");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_the_stop_signal_then_sigkill_after_the_timeout() {
    let (node, pod) = node_with_pod().await;
    let (polite, deaf) = (running(&node, &pod, "a").await, running(&node, &pod, "b").await);
    node.containerd.ignore_signals(&deaf);
    for id in [&polite, &deaf] {
        let req = StopContainerRequest { container_id: id.clone(), timeout: 1 };
        super::stop_container(&node.ctx, req).await.expect("StopContainer");
    }
    let kills = |id: &str| node.journal.starting(&format!("containerd kill_task {id}"));
    assert_eq!(kills(&polite), [format!("containerd kill_task {polite} 15")], "SIGTERM sufficed");
    let (term, kill) =
        (format!("containerd kill_task {deaf} 15"), format!("containerd kill_task {deaf} 9"));
    assert_eq!(kills(&deaf), [term, kill], "SIGKILL after the timeout");
    assert_eq!(state(&node, &polite), (ContainerState::Exited, 143, "Error".into()));
    assert_eq!(state(&node, &deaf), (ContainerState::Exited, 137, "Error".into()));
    let req = StopContainerRequest { container_id: deaf.clone(), timeout: 1 };
    super::stop_container(&node.ctx, req).await.expect("stopping a stopped container");
    assert_eq!(kills(&deaf).len(), 2, "no signal to a stopped container");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_pod_kills_its_containers_before_its_network_goes() {
    let (node, pod) = node_with_pod().await;
    let id = running(&node, &pod, "app").await;
    let req = crate::api::v1::StopPodSandboxRequest { pod_sandbox_id: pod.clone() };
    crate::sandbox::stop_pod_sandbox(&node.ctx, req).await.expect("StopPodSandbox");
    let kill = node.journal.position(&format!("containerd kill_task {id} 9"));
    assert!(kill < node.journal.position("cni DEL"));
    assert!(kill < node.journal.position("pins remove"));
    assert_eq!(state(&node, &id).0, ContainerState::Exited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_kills_a_running_container_and_leaves_nothing() {
    let (node, pod) = node_with_pod().await;
    let id = running(&node, &pod, "app").await;
    let req = RemoveContainerRequest { container_id: id.clone() };
    super::remove_container(&node.ctx, req).await.expect("RemoveContainer");
    assert!(node.ctx.containers.get(&id).is_none());
    assert!(node.containerd.task(&id).is_none());
    assert_eq!(node.containerd.container_ids(), vec![pod.clone()]);
    assert_eq!(node.containerd.snapshots(), Vec::<String>::new());
    assert!(!super::persist::dir(&node.ctx, &id).exists(), "its directory went");
    create(&node, &pod, "app").await.expect("the name is free again");
    let req = RemoveContainerRequest { container_id: id };
    super::remove_container(&node.ctx, req).await.expect("removing it again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_refuses_new_resources_leaves_the_record_as_it_was() {
    let (node, pod) = node_with_pod().await;
    let id = running(&node, &pod, "app").await;
    let spec_of = |node: &TestNode| {
        let record = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(node.containerd.get_container(&id))
        });
        record.unwrap().unwrap().spec
    };
    let before = spec_of(&node);
    let linux = LinuxContainerResources { cpu_shares: 512, ..Default::default() };
    let req = UpdateContainerResourcesRequest {
        container_id: id.clone(),
        linux: Some(linux.clone()),
        ..Default::default()
    };
    node.containerd.fail("update_task_resources");
    let e = super::update_container_resources(&node.ctx, req.clone()).await.expect_err("refused");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert_eq!(spec_of(&node), before, "the record's spec is restored");
    node.containerd.heal("update_task_resources");
    super::update_container_resources(&node.ctx, req).await.expect("UpdateContainerResources");
    assert_ne!(spec_of(&node), before, "the new shares are in the record");
    let resources = node.ctx.containers.get(&id).unwrap().resources().unwrap();
    assert_eq!(resources.cpu_shares, 512);
    let e = super::update_container_resources(
        &node.ctx,
        UpdateContainerResourcesRequest { container_id: id, ..Default::default() },
    )
    .await
    .expect_err("no linux resources");
    assert!(matches!(&e, crate::error::Error::InvalidArgument { field, .. } if field == "linux"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_volume_that_cannot_be_mounted_leaves_no_view() {
    let (node, pod) = node_with_pod().await;
    let volume = |host_path: &str| crate::api::v1::Mount {
        container_path: "/vol".into(),
        host_path: host_path.into(),
        image: Some(ImageSpec { image: crate::pause_image::image_name(), ..Default::default() }),
        readonly: true,
        ..Default::default()
    };
    let req = |m: crate::api::v1::Mount| CreateContainerRequest {
        pod_sandbox_id: pod.clone(),
        config: Some(ContainerConfig {
            metadata: Some(ContainerMetadata { name: "vol".into(), attempt: 0 }),
            image: Some(ImageSpec {
                image: crate::pause_image::image_name(),
                ..Default::default()
            }),
            mounts: vec![m],
            ..Default::default()
        }),
        sandbox_config: None,
    };
    let e = super::create_container(&node.ctx, req(volume("/srv"))).await.expect_err("both");
    assert!(e.message().contains("config.mounts[0].host_path"), "{e:?}");
    // The fake's view has no mounts to mount: the create fails after making the view.
    let e = super::create_container(&node.ctx, req(volume(""))).await.expect_err("no mounts");
    assert_eq!(e.code(), Code::Internal, "{e:?}");
    assert_eq!(node.journal.starting("containerd view_snapshot ").len(), 1, "one view was made");
    assert_eq!(node.containerd.snapshots(), Vec::<String>::new(), "the view went");
    assert_eq!(node.containerd.leases(), Vec::<String>::new());
    assert!(node.ctx.containers.list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_containerd_would_not_delete_is_left_to_the_janitor() {
    let (node, pod) = node_with_pod().await;
    node.containerd.fail("delete_lease");
    let id = create(&node, &pod, "app").await.expect("CreateContainer");
    let left = node.ctx.janitor.leases_left();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(node.containerd.leases(), left, "the create's lease, still in containerd");
    assert_eq!(state(&node, &id).0, ContainerState::Created);
}
