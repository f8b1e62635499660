//! critest, the CRI validation suite of cri-tools (pinned in e2e/critest/go.mod), against
//! cricket. The node runs in a network namespace of its own with only loopback: containerd,
//! its shims and host-network pods, cricket, the registry and critest itself. cricket mirrors
//! every registry to the node's registry, which holds stand-ins for the public images critest
//! pulls; a pull that missed the mirror could not leave the namespace.

use std::path::Path;
use std::process::Stdio;

use e2e::critest_images::{critest_binary, push_all};
use e2e::registry::in_netns;
use e2e::{Node, NodeOptions};

/// Specs that cannot pass against any runtime here, each with why.
const SKIPPED: &[(&str, &str)] = &[
    // Its reference pins the digest of the upstream image's manifest, which no image built
    // here can have.
    ("public image with digest", "the digest of upstream's own image"),
];

/// The summary line ("Ran N of M Specs ...") and the failed specs of critest's output.
fn summary(output: &str) -> (String, Vec<String>) {
    let ran = output.lines().find(|l| l.starts_with("Ran ")).unwrap_or("no summary").to_string();
    let summarized = output.rsplit_once("\nSummarizing ").map_or("", |(_, s)| s);
    let failed = summarized
        .lines()
        .filter(|l| l.trim_start().starts_with("[FAIL]"))
        .map(|l| l.trim().to_string())
        .collect();
    (ran, failed)
}

/// One critest run against the node: `name` names its log and report (kept under the target
/// directory after the node is gone); `args` are critest's own, after the endpoints and skips.
async fn run_critest(node: &Node, critest: &Path, name: &str, args: &[String]) {
    let endpoint = format!("unix://{}", node.cricket.as_ref().unwrap().socket.display());
    let skip = SKIPPED.iter().map(|(spec, _)| regex_quote(spec)).collect::<Vec<_>>().join("|");
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (log, report) =
        (kept.join(format!("{name}.log")), kept.join(format!("{name}-report.json")));
    let _ = std::fs::remove_file(&report);
    let mut cmd = in_netns(node.netns.as_deref(), critest);
    cmd.arg(format!("--runtime-endpoint={endpoint}"))
        .arg(format!("--image-endpoint={endpoint}"))
        .arg(format!("--ginkgo.skip={skip}"))
        .arg("--ginkgo.no-color")
        .arg(format!("--ginkgo.json-report={}", report.display()))
        .args(args)
        .current_dir(node.ws.run_dir.clone())
        .stdin(Stdio::null());
    let output =
        tokio::task::spawn_blocking(move || cmd.output().expect("run critest")).await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&log, &text).unwrap();
    let (ran, failed) = summary(&text);
    eprintln!("{name}: {ran} (its output: {})", log.display());
    // What critest skipped by itself, and why (a feature the node or cricket does not offer).
    for (spec, why) in skipped_by_critest(&std::fs::read(&report).unwrap_or_default()) {
        eprintln!("{name} skipped: {spec}: {why}");
    }
    let tail: Vec<&str> =
        text.lines().rev().take(150).collect::<Vec<_>>().into_iter().rev().collect();
    assert!(
        output.status.success() && failed.is_empty(),
        "{name} failed: {ran}\n{}\n--- its output's end (all of it in {}):\n{}\n--- cricket's log:\n{}",
        failed.join("\n"),
        log.display(),
        tail.join("\n"),
        node.cricket_log_tail(60)
    );
}

/// Every spec, with streaming over SPDY (`CRITEST_FOCUS`, a regular expression, picks some);
/// then the streaming specs again over WebSocket, as kubelet's newer clients stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critest_passes_against_cricket() {
    let node = Node::start(NodeOptions {
        registry: true,
        isolated_network: true,
        mirror_everything: true,
        ..Default::default()
    });
    node.write_cni_config();
    push_all(node.registry());
    let critest = critest_binary();
    node.wait_ready().await;

    let focus: Vec<String> =
        std::env::var("CRITEST_FOCUS").map(|f| format!("--ginkgo.focus={f}")).into_iter().collect();
    run_critest(&node, &critest, "critest", &focus).await;
    let websocket = [
        "--websocket-exec",
        "--websocket-attach",
        "--websocket-portforward",
        "--ginkgo.focus=Streaming",
    ];
    run_critest(&node, &critest, "critest-websocket", &websocket.map(String::from)).await;
    node.finish();
}

/// The specs a JSON report says were skipped while running (not by `--ginkgo.skip`), each
/// with the reason it gave.
fn skipped_by_critest(report: &[u8]) -> Vec<(String, String)> {
    let suites: Vec<serde_json::Value> = serde_json::from_slice(report).unwrap_or_default();
    let specs =
        suites.iter().flat_map(|s| s["SpecReports"].as_array().cloned().unwrap_or_default());
    specs
        .filter(|r| {
            r["State"] == "skipped"
                && !r["Failure"]["Message"].as_str().unwrap_or_default().is_empty()
        })
        .map(|r| {
            let mut names: Vec<String> = r["ContainerHierarchyTexts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .map(String::from)
                .collect();
            names.extend(r["LeafNodeText"].as_str().map(String::from));
            (names.join(" "), r["Failure"]["Message"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

/// `text` as a regular expression that matches it literally.
fn regex_quote(text: &str) -> String {
    text.chars()
        .flat_map(|c| if "\\.+*?()|[]{}^$".contains(c) { vec!['\\', c] } else { vec![c] })
        .collect()
}

#[test]
fn the_summary_names_the_count_and_each_failure() {
    let out = "[FAIL] early\nSummarizing 1 Failure:\n  [FAIL] [k8s.io] Image Manager public image [It] pulls\nRan 9 of 142 Specs in 8.0 seconds\nFAIL! -- 8 Passed | 1 Failed\n";
    let (ran, failed) = summary(out);
    assert_eq!(ran, "Ran 9 of 142 Specs in 8.0 seconds");
    assert_eq!(failed, ["[FAIL] [k8s.io] Image Manager public image [It] pulls"]);
    assert_eq!(regex_quote("a (b).c"), "a \\(b\\)\\.c");
    let report = br#"[{"SpecReports":[
        {"ContainerHierarchyTexts":["[k8s.io] A"],"LeafNodeText":"b","State":"skipped","Failure":{"Message":"no AppArmor"}},
        {"ContainerHierarchyTexts":["[k8s.io] A"],"LeafNodeText":"c","State":"skipped","Failure":{"Message":""}},
        {"ContainerHierarchyTexts":["[k8s.io] A"],"LeafNodeText":"d","State":"passed"}]}]"#;
    assert_eq!(
        skipped_by_critest(report),
        [("[k8s.io] A b".to_string(), "no AppArmor".to_string())]
    );
}
