//! The harness itself: the registry serves what it is given, and the leak check can fail.

use std::process::Command;

use e2e::leaks::find_leaks;
use e2e::test_images::busybox_image;
use e2e::workspace::Workspace;
use e2e::{Node, NodeOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_serves_a_pushed_test_image_with_its_digest() {
    let node =
        Node::start(NodeOptions { registry: true, without_cricket: true, ..Default::default() });
    let registry = node.registry.as_ref().unwrap();
    let image = busybox_image();
    registry.push(&image, "e2e/busybox", "1");
    assert_eq!(registry.manifest_digest("e2e/busybox", "1"), image.manifest.digest);
    let log = std::fs::read_to_string(&registry.log).unwrap();
    assert!(log.contains("PUT /v2/e2e/busybox/manifests/1"), "the access log records requests");
    node.finish();
}

#[test]
fn the_leak_check_finds_a_mount_left_behind() {
    let ws = Workspace::new();
    let needle = format!("cricket-e2e-{}", ws.id);
    let target = ws.run("leak");
    std::fs::create_dir_all(&target).unwrap();
    let (ok, _, err) =
        e2e::process::run(Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&target));
    assert!(ok, "{err}");
    let leaks = find_leaks(std::slice::from_ref(&needle));
    e2e::leaks::unmount_below(&ws.run_dir.display().to_string());
    assert!(leaks.iter().any(|l| l.starts_with("mount:")), "{leaks:?}");
    assert!(find_leaks(&[needle]).is_empty());
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}
