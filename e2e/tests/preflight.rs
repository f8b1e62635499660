//! `cricket check` on a node the harness brought up: all green with the cricket serving there;
//! with an empty CNI directory or containerd down it exits 1 and names the fix.

use std::path::Path;

use e2e::cricket::run_cricket;
use e2e::{Node, NodeOptions};

/// Runs `cricket check` on `config`: (exit code, report).
fn check(config: &Path) -> (Option<i32>, String) {
    let (code, out, err) = run_cricket(&["check", "--config", &config.display().to_string()]);
    assert!(err.is_empty(), "{err}");
    (code, out)
}

/// The node's config with `from` replaced by `to`, written beside it.
fn variant(node: &mut Node, name: &str, from: &str, to: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(&node.cricket().config_file).unwrap();
    assert!(text.contains(from), "{from:?} in the config");
    let file = node.ws.run(name);
    std::fs::write(&file, text.replace(from, to)).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_green_on_a_working_node_and_the_fix_named_when_not() {
    let mut node = Node::start(NodeOptions::default());
    node.write_cni_config();
    node.wait_ready().await;
    // A node ready for pods forwards IPv4 (the bridge plugin turns it on at its first ADD).
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
    let config = node.cricket().config_file.clone();
    let (code, report) = check(&config);
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report
            .lines()
            .filter(|l| !l.starts_with("      "))
            .all(|l| l.starts_with("ok ") || l == "all requirements met"),
        "{report}"
    );
    let backend = e2e::backend::Backend::current();
    let containerd = format!("containerd: {}", backend.version_prefix());
    let userns = match backend {
        e2e::backend::Backend::Built2 => "user namespaces: supported",
        e2e::backend::Backend::Debian => "user namespaces: not supported: containerd 1.",
    };
    for expected in [
        containerd.as_str(),
        userns,
        ": supported",
        "served by a live cricket",
        "runtime handler \"runc\"",
        "CNI network: \"",
    ] {
        assert!(report.contains(expected), "{expected:?} in\n{report}");
    }

    let empty = node.ws.run("empty-net.d");
    std::fs::create_dir_all(&empty).unwrap();
    let net_d = node.ws.run("net.d").display().to_string();
    let (code, report) =
        check(&variant(&mut node, "no-network.toml", &net_d, &empty.display().to_string()));
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains(&format!("FAIL  CNI network: no network config in {}", empty.display())),
        "{report}"
    );
    assert!(
        report.contains("fix: install one: cp manifests/cni/10-cricket-bridge.conflist"),
        "{report}"
    );

    let address = node.containerd.address.display().to_string();
    let (code, report) =
        check(&variant(&mut node, "no-containerd.toml", &address, &format!("{address}.gone")));
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("FAIL  containerd: no answer at"), "{report}");
    assert!(report.contains("fix: start containerd"), "{report}");
    node.finish();
}
