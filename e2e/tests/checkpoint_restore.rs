//! CheckpointContainer and restore with CRIU: a counter process is checkpointed into the
//! archive kubelet's checkpoint API returns, keeps running, and a container created with the
//! archive as its image resumes the count (its own command never runs); its writable layer
//! comes back. Bad requests are refused by field and leave nothing.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

const COUNTER: &str =
    "echo before > /marker; i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.2; done";

async fn read(pod: &mut Pod, id: &str, path: &str) -> String {
    let req = ExecSyncRequest {
        container_id: id.into(),
        cmd: vec!["cat".into(), path.into()],
        timeout: 10,
    };
    let reply = pod.cri.runtime.exec_sync(req).await.unwrap().into_inner();
    String::from_utf8_lossy(&reply.stdout).trim().to_string()
}

async fn count(pod: &mut Pod, id: &str) -> u64 {
    let text = read(pod, id, "/count").await;
    text.parse().unwrap_or_else(|_| panic!("/count holds {text:?}, not a count"))
}

async fn checkpoint(pod: &mut Pod, id: &str, location: &str) -> Result<(), tonic::Status> {
    let req = CheckpointContainerRequest {
        container_id: id.into(),
        location: location.into(),
        timeout: 60,
    };
    pod.cri.runtime.checkpoint_container(req).await.map(|_| ())
}

fn archive_entries(path: &std::path::Path) -> Vec<String> {
    let mut tar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let entries = tar.entries().unwrap();
    entries.map(|e| e.unwrap().path().unwrap().display().to_string()).collect()
}

fn leftovers(node: &Node, prefix: &str) -> Vec<String> {
    let dirs = std::fs::read_dir(node.ws.lib("cricket").join("containers")).unwrap();
    let inner = dirs.flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten());
    let names = inner.map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n.starts_with(prefix)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpointed_counter_resumes_from_its_count_after_restore() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "checkpoint")).await;
    let image = pod.image.clone();
    let original = pod.run(shell(&image, "counter", COUNTER)).await;
    let mut counted = 0;
    for _ in 0..100 {
        counted = read(&mut pod, &original, "/count").await.parse().unwrap_or(0);
        if counted >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(counted >= 10, "the counter did not reach 10");

    let archive = node.ws.run("counter-checkpoint.tar");
    let location = archive.display().to_string();
    // Refused by field, leaving no archive.
    let err = checkpoint(&mut pod, &original, "relative.tar").await.unwrap_err();
    assert_eq!(
        (err.code(), err.message().contains("location")),
        (Code::InvalidArgument, true),
        "{err}"
    );
    let err = checkpoint(&mut pod, "no-such-container", &location).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    assert!(!archive.exists());

    checkpoint(&mut pod, &original, &location).await.unwrap();
    let entries = archive_entries(&archive);
    for wanted in ["checkpoint/", "rootfs-diff.tar", "spec.dump", "config.dump", "status.dump"] {
        assert!(
            entries.iter().any(|e| e.trim_start_matches("./").starts_with(wanted)),
            "{wanted} in {entries:?}"
        );
    }
    assert!(leftovers(&node, "checkpoint-").is_empty(), "{:?}", leftovers(&node, "checkpoint-"));
    // The checkpointed container runs on.
    let at_checkpoint = count(&mut pod, &original).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(count(&mut pod, &original).await > at_checkpoint, "the original stopped counting");
    pod.cri
        .runtime
        .stop_container(StopContainerRequest { container_id: original.clone(), timeout: 0 })
        .await
        .unwrap();
    let err = checkpoint(&mut pod, &original, &node.ws.run("stopped.tar").display().to_string())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(!node.ws.run("stopped.tar").exists());
    pod.cri
        .runtime
        .remove_container(RemoveContainerRequest { container_id: original.clone() })
        .await
        .unwrap();

    // The restored container's own command would write "fresh": it must never run.
    let restored =
        pod.run(shell(&location, "restored", "echo fresh > /count; exec sleep 3600")).await;
    let first = count(&mut pod, &restored).await;
    assert!(first >= 10, "the count restarted: {first}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = count(&mut pod, &restored).await;
    assert!(later > first, "the restored process does not count: {first} then {later}");
    assert_eq!(read(&mut pod, &restored, "/marker").await, "before", "the writable layer is back");
    let status = pod.status(&restored).await;
    assert_eq!(status.state, ContainerState::ContainerRunning as i32);
    let pulled = pod.cri.image_status(&image).await.unwrap().unwrap().id;
    assert_eq!(status.image_id, pulled, "the restored container runs on the checkpoint's image");
    assert!(leftovers(&node, "restore").is_empty(), "the CRIU images go once restored");

    // An archive that is not a checkpoint is refused by field.
    let bogus = node.ws.run("not-a-checkpoint.tar");
    std::fs::write(&bogus, b"not a tar").unwrap();
    let err = pod.create(shell(&bogus.display().to_string(), "bogus", "true")).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("config.image.image"), "{err}");

    pod.remove().await;
    node.finish();
}

async fn running_count_reaches_10(pod: &mut Pod, id: &str) {
    for _ in 0..100 {
        if read(pod, id, "/count").await.parse::<u64>().unwrap_or(0) >= 10 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("container {id} did not count to 10");
}

async fn pod_count(pod: &mut Pod) -> usize {
    let req = ListPodSandboxRequest { filter: None };
    pod.cri.runtime.list_pod_sandbox(req).await.unwrap().into_inner().items.len()
}

/// CRI 1.37's CheckpointPod and RestorePod: both counters of a pod are checkpointed as one
/// cut into a directory, run on, and a pod restored from it has both resume their counts
/// once started (their configs' own commands never run). Bad requests name the field and
/// leave no file and no pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpointed_pod_is_restored_with_every_container() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "whole")).await;
    let image = pod.image.clone();
    let a = pod.run(shell(&image, "a", COUNTER)).await;
    let b = pod.run(shell(&image, "b", COUNTER)).await;
    running_count_reaches_10(&mut pod, &a).await;
    running_count_reaches_10(&mut pod, &b).await;

    let out = node.ws.run("pod-checkpoint");
    std::fs::create_dir_all(&out).unwrap();
    let request = |ids: Vec<String>, path: &std::path::Path| CheckpointPodRequest {
        pod_sandbox_id: pod.id.clone(),
        output_path: path.display().to_string(),
        container_ids: ids,
        options: Default::default(),
    };
    let twice = request(vec![a.clone(), a.clone()], &out);
    let err = pod.cri.runtime.checkpoint_pod(twice).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message().contains("container_ids[1]")),
        (Code::InvalidArgument, true),
        "{err}"
    );
    let mut optioned = request(vec![a.clone()], &out);
    optioned.options.insert("leave-running".into(), "true".into());
    let err = pod.cri.runtime.checkpoint_pod(optioned).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message().contains("options")),
        (Code::InvalidArgument, true),
        "{err}"
    );
    let not_empty = node.ws.run("not-empty");
    std::fs::create_dir_all(&not_empty).unwrap();
    std::fs::write(not_empty.join("x"), b"x").unwrap();
    let err =
        pod.cri.runtime.checkpoint_pod(request(vec![a.clone()], &not_empty)).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message().contains("output_path")),
        (Code::InvalidArgument, true),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "refusals write nothing");

    pod.cri.runtime.checkpoint_pod(request(vec![a.clone(), b.clone()], &out)).await.unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    files.sort();
    assert_eq!(files, ["container-0.tar", "container-1.tar", "pod.json"]);
    for id in [&a, &b] {
        let before = count(&mut pod, id).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(count(&mut pod, id).await > before, "container {id} was left frozen");
    }
    let pods_before = pod_count(&mut pod).await;
    let sandbox_config = pod.config.clone();
    let original = Pod {
        cri: node.client().await,
        image: image.clone(),
        id: pod.id.clone(),
        config: sandbox_config.clone(),
    };
    original.remove().await;

    let mut restored_config = sandbox_config.clone();
    restored_config.metadata.as_mut().unwrap().name = "whole-restored".into();
    restored_config.metadata.as_mut().unwrap().uid = "uid-whole-restored".into();
    let fresh = |name: &str| shell(&image, name, "echo fresh > /count; exec sleep 3600");
    let restore = |configs: Vec<ContainerConfig>| RestorePodRequest {
        checkpoint_path: out.display().to_string(),
        config: Some(restored_config.clone()),
        runtime_handler: String::new(),
        options: Default::default(),
        container_configs: configs,
    };
    let err = pod.cri.runtime.restore_pod(restore(vec![fresh("a"), fresh("c")])).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.message().contains("container_configs[1].metadata.name"), "{err}");
    assert_eq!(pod_count(&mut pod).await, pods_before - 1, "a refused restore leaves no pod");

    let reply = pod
        .cri
        .runtime
        .restore_pod(restore(vec![fresh("a"), fresh("b")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.restored_containers.len(), 2);
    pod.id = reply.pod_sandbox_id.clone();
    pod.config = restored_config.clone();
    for restored in &reply.restored_containers {
        let id = &restored.container_id;
        assert_eq!(
            pod.status(id).await.state,
            ContainerState::ContainerCreated as i32,
            "{}",
            restored.name
        );
        pod.cri
            .runtime
            .start_container(StartContainerRequest { container_id: id.clone() })
            .await
            .unwrap();
        let first = count(&mut pod, id).await;
        assert!(first >= 10, "{}: the count restarted at {first}", restored.name);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(count(&mut pod, id).await > first, "{} does not count", restored.name);
    }
    pod.remove().await;
    node.finish();
}
