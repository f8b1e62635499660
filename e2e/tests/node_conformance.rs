//! A focused part of Kubernetes' node conformance suite against cricket (on the backend
//! `CRICKET_E2E_CONTAINERD` picks): the container runtime, lifecycle hook and pods specs (the
//! pods' networking checks among them), sized for CI. `e2e/node-conformance.sh` runs the whole
//! suite three ways, the probing specs (a minute or more each) too.

use std::time::Duration;

use e2e::cluster::NodeRuntime;
use e2e::node_conformance::{count, run, skip_expression, Outcome, SuiteRun};

/// The `[NodeConformance]` specs of these groups run.
const GROUPS: &str = r"(Container Runtime|Container Lifecycle Hook|Pods should)";

#[test]
fn the_focused_node_conformance_specs_pass_on_cricket() {
    let out_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/node-conformance-ci");
    let opts = SuiteRun {
        runtime: NodeRuntime::Cricket,
        focus: format!(r"{GROUPS}.*\[NodeConformance\]"),
        // The [Slow] and [Serial] ones run in e2e/node-conformance.sh only.
        skip: [skip_expression(), r"\[Slow\]|\[Serial\]".to_string()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("|"),
        out_dir: out_dir.clone(),
        limit: Duration::from_secs(30 * 60),
        procs: 4,
    };
    let specs = run(&opts);
    let failed: Vec<&str> =
        specs.iter().filter(|s| s.outcome == Outcome::Failed).map(|s| s.name.as_str()).collect();
    let passed = count(&specs, Outcome::Passed);
    assert!(
        passed >= 20,
        "only {passed} specs passed; the suite's log is in {}",
        out_dir.display()
    );
    assert!(
        failed.is_empty(),
        "failed specs (log in {}):\n{}",
        out_dir.display(),
        failed.join("\n")
    );
}
