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
