//! Bad input and failed starts: each refused CreateContainer names its problem with the right
//! code and leaves no containerd record, snapshot or file; a start that fails is recorded as
//! StartError with no task left; and the idempotency rules of start, stop, remove and status.

use cricket::api::v1::security_profile::ProfileType;
use cricket::api::v1::*;
use e2e::node::NAMESPACE;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_creates_leave_nothing_and_lifecycle_calls_are_idempotent() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "picky")).await;
    let image = pod.image.clone();
    let ok = || shell(&image, "app", "true");

    let mut cases: Vec<(&str, CreateContainerRequest, Code, &str)> = Vec::new();
    cases.push((
        "unknown pod",
        CreateContainerRequest { pod_sandbox_id: "nope".into(), ..pod.create_request(ok()) },
        Code::NotFound,
        "nope",
    ));
    let absent = ContainerConfig {
        image: Some(ImageSpec { image: "127.0.0.1:1/absent:1".into(), ..Default::default() }),
        ..ok()
    };
    cases.push(("image not pulled", pod.create_request(absent), Code::NotFound, "absent"));
    cases.push((
        "escaping log path",
        pod.create_request(ContainerConfig { log_path: "../../escape.log".into(), ..ok() }),
        Code::InvalidArgument,
        "log_path",
    ));
    let no_name = ContainerConfig {
        metadata: Some(ContainerMetadata { name: String::new(), attempt: 0 }),
        ..ok()
    };
    cases.push(("no name", pod.create_request(no_name), Code::InvalidArgument, "metadata.name"));
    // Refused only after the rootfs snapshot is prepared: the undo must remove it.
    let seccomp = SecurityProfile {
        profile_type: ProfileType::Localhost as i32,
        localhost_ref: "/nonexistent.json".into(),
    };
    let late = ContainerConfig {
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                seccomp: Some(seccomp),
                ..Default::default()
            }),
            resources: None,
        }),
        ..ok()
    };
    cases.push((
        "bad seccomp file",
        pod.create_request(late),
        Code::InvalidArgument,
        "localhost_ref",
    ));
    let relative = ContainerConfig { working_dir: "relative".into(), ..ok() };
    cases.push((
        "relative working dir",
        pod.create_request(relative),
        Code::InvalidArgument,
        "working_dir",
    ));
    // A writable image volume after a host directory that does not exist yet: refused before
    // that directory is made.
    let made_too_soon = node.ws.run("host-dir-for-refused-create");
    let mounts = vec![
        Mount {
            container_path: "/data".into(),
            host_path: made_too_soon.display().to_string(),
            ..Default::default()
        },
        Mount {
            container_path: "/img".into(),
            image: Some(ImageSpec { image: image.clone(), ..Default::default() }),
            ..Default::default()
        },
    ];
    cases.push((
        "writable image volume",
        pod.create_request(ContainerConfig { mounts, ..ok() }),
        Code::InvalidArgument,
        "mounts[1].readonly",
    ));
    for (what, req, code, names) in cases {
        let err = pod.cri.runtime.create_container(req).await.unwrap_err();
        assert_eq!(err.code(), code, "{what}: {err}");
        assert!(err.message().contains(names), "{what}: {err}");
    }
    let (_, records, _) = node
        .containerd
        .ctr(NAMESPACE, &["containers", "ls", "-q", "labels.\"io.cricket.kind\"==container"]);
    assert!(records.trim().is_empty(), "no containerd record: {records}");
    let snapshots: Vec<String> = node
        .containerd
        .snapshot_keys(NAMESPACE)
        .into_iter()
        .filter(|k| !k.starts_with("sha256:"))
        .collect();
    assert!(snapshots.is_empty(), "no snapshot beside the image's layers: {snapshots:?}");
    assert!(!made_too_soon.exists(), "no host directory made for a refused container");
    for dir in [node.ws.run("cricket/containers"), node.ws.lib("cricket/containers")] {
        assert!(entries(&dir).is_empty(), "no files in {}: {:?}", dir.display(), entries(&dir));
    }
    // The name was not taken by any of them.
    let id = pod.create(ok()).await.expect("the name is free");

    // A start that fails: StartError, 128, no task; starting it again is refused.
    let missing =
        ContainerConfig { command: vec!["/nonexistent".into()], ..shell(&image, "missing", "") };
    let bad = pod.create(missing).await.unwrap();
    let err = pod
        .cri
        .runtime
        .start_container(StartContainerRequest { container_id: bad.clone() })
        .await
        .unwrap_err();
    assert!(err.message().contains("/nonexistent"), "{err}");
    let s = pod.status(&bad).await;
    assert_eq!(
        (s.state, s.exit_code, s.reason.as_str()),
        (ContainerState::ContainerExited as i32, 128, "StartError")
    );
    let (_, tasks, _) = node.containerd.ctr(NAMESPACE, &["tasks", "ls", "-q"]);
    assert!(!tasks.contains(&bad), "no task left: {tasks}");
    let err = pod
        .cri
        .runtime
        .start_container(StartContainerRequest { container_id: bad.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // Idempotency.
    let rt = &mut pod.cri.runtime;
    rt.start_container(StartContainerRequest { container_id: id.clone() }).await.unwrap();
    let err =
        rt.start_container(StartContainerRequest { container_id: id.clone() }).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "starting twice");
    rt.stop_container(StopContainerRequest { container_id: "nope".into(), timeout: 0 })
        .await
        .expect("stopping an unknown container is fine");
    rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: "nope".into() })
        .await
        .expect("stopping an unknown pod is fine");
    let err = rt
        .start_container(StartContainerRequest { container_id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = rt
        .container_status(ContainerStatusRequest { container_id: "nope".into(), verbose: false })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    rt.remove_container(RemoveContainerRequest { container_id: "nope".into() })
        .await
        .expect("removing an unknown container is fine");
    for _ in 0..2 {
        rt.stop_container(StopContainerRequest { container_id: id.clone(), timeout: 1 })
            .await
            .expect("stop, and stop again");
    }
    for c in [&id, &bad, &id] {
        rt.remove_container(RemoveContainerRequest { container_id: c.to_string() })
            .await
            .expect("remove, and remove again");
    }

    // A pod that is not ready takes no new containers.
    rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() }).await.unwrap();
    let err = pod.create(shell(&image, "late", "true")).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    pod.remove().await;
    node.finish();
}
