//! Pinned pod network namespaces (cricket::netns) on the real kernel.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use cricket::netns::{LinuxNetns, NetnsManager};
use e2e::leaks::find_leaks;
use e2e::process::run;
use e2e::workspace::Workspace;

fn in_netns(pin: &std::path::Path, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = run(Command::new("nsenter").arg(format!("--net={}", pin.display())).args(args));
    (ok, if ok { out } else { err })
}

#[test]
fn a_pinned_namespace_is_new_has_lo_up_and_goes_away_completely() {
    let ws = Workspace::new();
    let netns = LinuxNetns::new(ws.run("netns"));
    let pin = netns.create("pod-a").unwrap();
    let host = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert_ne!(std::fs::metadata(&pin).unwrap().ino(), host, "a namespace of its own");
    assert_ne!(std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino(), std::fs::metadata(&pin).unwrap().ino(), "this thread stayed home");
    let (ok, links) = in_netns(&pin, &["ip", "-o", "link"]);
    assert!(ok, "{links}");
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    assert!(links.contains("lo:") && links.contains(",UP"), "{links}");

    netns.remove(&pin).unwrap();
    assert!(!pin.exists());
    assert!(find_leaks(&[format!("cricket-e2e-{}", ws.id)]).is_empty(), "no mount left");
    netns.remove(&pin).expect("removing twice is fine");
    assert!(netns.create("bad/name").is_err());
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}

#[test]
fn twenty_namespaces_at_once_are_distinct() {
    let ws = Workspace::new();
    let netns = std::sync::Arc::new(LinuxNetns::new(ws.run("netns")));
    let pins: Vec<_> = (0..20)
        .map(|i| {
            let netns = netns.clone();
            std::thread::spawn(move || netns.create(&format!("pod-{i}")).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut inodes: Vec<u64> = pins.iter().map(|p| std::fs::metadata(p).unwrap().ino()).collect();
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), 20);
    for pin in &pins {
        netns.remove(pin).unwrap();
    }
    assert!(find_leaks(&[format!("cricket-e2e-{}", ws.id)]).is_empty());
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}
