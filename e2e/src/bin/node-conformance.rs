//! Runs Kubernetes' node conformance suite against one runtime, or tabulates the runs.
//!
//! `node-conformance run <cricket|containerd-cri> <results.tsv> <out-dir> [minutes [focus [skip]]]`
//! runs the `[NodeConformance]` specs (those whose name also matches `focus`, if given; less
//! the skip list and those matching `skip`) on the backend `CRICKET_E2E_CONTAINERD` picks and writes one line per spec:
//! outcome, a tab, the spec's name.
//!
//! `node-conformance table <column>=<results.tsv>...` prints a Markdown table of the specs
//! (one column per run) and each column's totals, then the specs the skip list leaves out.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use e2e::cluster::NodeRuntime;
use e2e::node_conformance::{count, run, skip_expression, Outcome, SuiteRun, FOCUS, SKIPPED};

/// Suite processes at once: the specs mostly wait on pods, so more than the cores.
const PROCS: usize = 4;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") if args.len() >= 4 => run_suite(&args[1], &args[2], &args[3], &args[4..]),
        Some("table") if args.len() >= 2 => print!("{}{}", table(&args[1..]), left_out()),
        _ => {
            eprintln!("usage: node-conformance run <cricket|containerd-cri> <results.tsv> <out-dir> [minutes [focus [skip]]]\n       node-conformance table <column>=<results.tsv>...");
            std::process::exit(2);
        }
    }
}

/// `optional` holds minutes, focus and skip, each possibly absent or empty.
fn run_suite(runtime: &str, results: &str, out_dir: &str, optional: &[String]) {
    let given = |i: usize| optional.get(i).filter(|s| !s.is_empty());
    let (minutes, focus, skip) = (given(0), given(1), given(2));
    let runtime = match runtime {
        "cricket" => NodeRuntime::Cricket,
        "containerd-cri" => NodeRuntime::ContainerdCri,
        other => panic!("unknown runtime {other:?}: cricket or containerd-cri"),
    };
    let minutes: u64 = minutes.map(|m| m.parse().expect("minutes")).unwrap_or(120);
    let opts = SuiteRun {
        runtime,
        focus: focus.map_or(FOCUS.to_string(), |f| format!("(?:{f}).*{FOCUS}")),
        skip: [skip_expression(), skip.cloned().unwrap_or_default()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("|"),
        out_dir: PathBuf::from(out_dir),
        limit: Duration::from_secs(minutes * 60),
        procs: PROCS,
    };
    let specs = run(&opts);
    let lines: String = specs
        .iter()
        .map(|s| format!("{}\t{}\n", word(s.outcome), s.name))
        .collect();
    std::fs::write(results, lines).unwrap_or_else(|e| panic!("{results}: {e}"));
    let (passed, failed) = (
        count(&specs, Outcome::Passed),
        count(&specs, Outcome::Failed),
    );
    println!(
        "{passed} passed, {failed} failed, {} skipped; per spec in {results}",
        specs.len() - passed - failed
    );
}

fn word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
    }
}

/// The Markdown table of `columns` (`name=results.tsv`): the specs that ran in any column, a
/// row each, then the totals.
fn table(columns: &[String]) -> String {
    let mut names = Vec::new();
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, column) in columns.iter().enumerate() {
        let (name, file) = column
            .split_once('=')
            .unwrap_or_else(|| panic!("{column}: expected <column>=<results.tsv>"));
        names.push(name.to_string());
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines() {
            let Some((outcome, spec)) = line.split_once('\t') else {
                continue;
            };
            let row = rows
                .entry(spec.to_string())
                .or_insert_with(|| vec!["not run".into(); columns.len()]);
            row[i] = outcome.to_string();
        }
    }
    let mut out = format!(
        "| spec | {} |\n|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    let ran = |row: &Vec<String>| row.iter().any(|o| o == "passed" || o == "failed");
    for (spec, row) in rows.iter().filter(|(_, r)| ran(r)) {
        out.push_str(&format!(
            "| {} | {} |\n",
            spec.replace('|', "\\|"),
            row.join(" | ")
        ));
    }
    let count = |i: usize, what: &str| rows.values().filter(|r| r[i] == what).count();
    for what in ["passed", "failed", "skipped"] {
        let totals: Vec<String> = (0..names.len())
            .map(|i| count(i, what).to_string())
            .collect();
        out.push_str(&format!("| **{what}** | {} |\n", totals.join(" | ")));
    }
    out
}

/// The skip list as Markdown: each spec and why this machine cannot run it.
fn left_out() -> String {
    let mut out = String::from("\nLeft out on this machine:\n\n");
    for (spec, why) in SKIPPED {
        out.push_str(&format!("- `{spec}`: {why}.\n"));
    }
    out
}
