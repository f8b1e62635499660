//! The built-in pause image: imported into containerd at start, unpacked and pinned, with no
//! registry anywhere.

use std::time::Duration;

use e2e::node::NAMESPACE;
use e2e::{eventually, Node, NodeOptions};

fn pause_name() -> String {
    format!("localhost/cricket/pause:{}", cricket::VERSION)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_image_is_imported_unpacked_and_pinned_without_a_registry() {
    let mut node = Node::start(NodeOptions::default());
    let name = pause_name();
    let unpacked = eventually(Duration::from_secs(20), || {
        let (_, out, _) = node.containerd.ctr(NAMESPACE, &["images", "check"]);
        let line = out.lines().find(|l| l.starts_with(&format!("{name} "))).map(str::to_string);
        async move { line.filter(|l| l.contains("complete") && l.trim_end().ends_with("true")) }
    })
    .await;
    assert!(unpacked.is_some(), "pause image not unpacked; log:\n{}", node.cricket().log_text());

    let (_, images, _) = node.containerd.ctr(NAMESPACE, &["images", "ls"]);
    let line = images.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap().to_string();
    assert!(line.contains("io.cricket.pinned=pinned"), "{line}");
    let digest = line.split_whitespace().nth(2).unwrap().to_string();
    let (_, snapshots, _) = node.containerd.ctr(NAMESPACE, &["snapshots", "ls"]);
    assert!(snapshots.contains("Committed"), "{snapshots}");

    // A restart finds the image in place and imports nothing.
    node.cricket().stop();
    let log = node.cricket().log.clone();
    std::fs::write(&log, b"").unwrap();
    node.cricket().start_again();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, images, _) = node.containerd.ctr(NAMESPACE, &["images", "ls"]);
    assert!(images.contains(&digest), "same image after restart");
    assert!(!node.cricket().log_text().contains("imported the built-in pause image"));

    // And it really is a pause: it runs under runc and exits on SIGTERM.
    let id = format!("pause-check-{}", node.ws.id);
    let (ok, _, err) = node.containerd.ctr(NAMESPACE, &["run", "-d", &name, &id]);
    assert!(ok, "ctr run: {err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.containerd.ctr(NAMESPACE, &["tasks", "kill", "-s", "SIGTERM", &id]);
    let stopped = eventually(Duration::from_secs(5), || {
        let (_, out, _) = node.containerd.ctr(NAMESPACE, &["tasks", "ls"]);
        let stopped = out.lines().any(|l| l.starts_with(&id) && l.contains("STOPPED"));
        async move { stopped.then_some(()) }
    })
    .await;
    assert!(stopped.is_some(), "pause did not stop on SIGTERM");
    node.finish();
}
