//! CRI 1.33's stop signal and 1.36's one image ID: StopContainer sends the config's
//! `stop_signal`, else the image's `StopSignal`, else SIGTERM, and ContainerStatus names it; an unknown
//! signal is refused by field and leaves nothing; the ID PullImage returns is the ID of the
//! image, of the container and of its status.

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

/// Traps USR1 and TERM, each leaving its own exit code and log line.
const TRAPS: &str = "trap 'echo got-usr1; exit 7' USR1; trap 'echo got-term; exit 8' TERM; \
                     while :; do sleep 0.1; done";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_signal_is_the_one_the_process_receives() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "signals")).await;
    let image = pod.image.clone();

    // One image ID everywhere it leaves cricket.
    let pulled = pod.cri.pull(&image, None).await.unwrap();
    let listed = pod.cri.image_status(&image).await.unwrap().unwrap().id;
    assert_eq!(pulled, listed);

    let mut usr1 = shell(&image, "usr1", TRAPS);
    usr1.stop_signal = Signal::Sigusr1 as i32;
    let id = pod.run(usr1).await;
    let term = pod.run(shell(&image, "term", TRAPS)).await;
    // No stop signal in the config: the image's StopSignal.
    let quitting = node.registry().push(
        &e2e::test_images::busybox_with_stop_signal("SIGUSR1"),
        "e2e/stop-usr1",
        "1",
    );
    pod.cri.pull(&quitting, None).await.unwrap();
    let from_image = pod.run(shell(&quitting, "from-image", TRAPS)).await;
    assert_eq!(pod.status(&from_image).await.stop_signal, Signal::Sigusr1 as i32);
    let s = pod.status(&id).await;
    assert_eq!((s.stop_signal, s.image_id.as_str()), (Signal::Sigusr1 as i32, pulled.as_str()));
    assert_eq!(s.image.unwrap().image_ref, pulled);
    assert_eq!(pod.status(&term).await.stop_signal, Signal::Sigterm as i32, "the default");
    let listed = pod
        .cri
        .runtime
        .list_containers(ListContainersRequest {
            filter: Some(ContainerFilter { id: id.clone(), ..Default::default() }),
        })
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert_eq!(listed[0].image_id, pulled);

    for (container, code, line) in
        [(&id, 7, "got-usr1"), (&term, 8, "got-term"), (&from_image, 7, "got-usr1")]
    {
        pod.cri
            .runtime
            .stop_container(StopContainerRequest { container_id: container.clone(), timeout: 10 })
            .await
            .unwrap();
        let s = pod.status(container).await;
        assert_eq!(s.exit_code, code, "{line}");
        let log = node.ws.run("logs").join(&s.log_path);
        let lines = e2e::workload::read_log_text(&log).unwrap_or_default();
        assert!(lines.iter().any(|l| l == line), "{lines:?}");
    }

    let before = pod.cri.runtime.list_containers(ListContainersRequest { filter: None });
    let before = before.await.unwrap().into_inner().containers.len();
    let mut bad = shell(&image, "bad", TRAPS);
    bad.stop_signal = 99;
    let err = pod.create(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("config.stop_signal"), "{err}");
    let after = pod.cri.runtime.list_containers(ListContainersRequest { filter: None });
    assert_eq!(after.await.unwrap().into_inner().containers.len(), before);
    pod.remove().await;
    node.finish();
}
