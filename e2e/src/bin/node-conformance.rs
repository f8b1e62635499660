//! Runs Kubernetes' node conformance suite against one runtime, or tabulates the runs.
//!
//! `node-conformance run <cricket|containerd-cri> <results.tsv> <out-dir> [minutes [focus [skip]]]`
//! runs the `[NodeConformance]` specs (those whose name also matches `focus`, if given; less
//! the skip list and those matching `skip`) on the backend `CRICKET_E2E_CONTAINERD` picks and writes one line per spec:
//! outcome, a tab, the spec's name.
//!
//! `node-conformance failed-focus <results.tsv>` prints a focus expression naming exactly the
//! specs that failed there; `node-conformance merge <results.tsv> <rerun.tsv>` takes the
//! outcomes of the specs that ran again into the first file.
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
        Some("failed-focus") if args.len() == 2 => {
            println!("{}", failed_focus(&read_results(&args[1])))
        }
        Some("merge") if args.len() == 3 => merge(&args[1], &args[2]),
        _ => {
            eprintln!("usage: node-conformance run <cricket|containerd-cri> <results.tsv> <out-dir> [minutes [focus [skip]]]\n       node-conformance failed-focus <results.tsv>\n       node-conformance merge <results.tsv> <rerun.tsv>\n       node-conformance table <column>=<results.tsv>...");
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
        // A spec's text carries its tags in order, so `focus` may match before or after the tag.
        focus: focus.map_or(FOCUS.to_string(), |f| format!("(?:{f}).*{FOCUS}|{FOCUS}.*(?:{f})")),
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
    let lines: String =
        specs.iter().map(|s| format!("{}\t{}\n", word(s.outcome), s.name)).collect();
    std::fs::write(results, lines).unwrap_or_else(|e| panic!("{results}: {e}"));
    let (passed, failed) = (count(&specs, Outcome::Passed), count(&specs, Outcome::Failed));
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
    let mut out =
        format!("| spec | {} |\n|---|{}\n", names.join(" | "), "---|".repeat(names.len()));
    let ran = |row: &Vec<String>| row.iter().any(|o| o == "passed" || o == "failed");
    for (spec, row) in rows.iter().filter(|(_, r)| ran(r)) {
        out.push_str(&format!("| {} | {} |\n", spec.replace('|', "\\|"), row.join(" | ")));
    }
    // Of the specs in the table: a column's "not run" are those another column ran.
    let count = |i: usize, what: &[&str]| {
        rows.values().filter(|r| ran(r) && what.contains(&r[i].as_str())).count()
    };
    for (total, what) in
        [("passed", &["passed"][..]), ("failed", &["failed"]), ("not run", &["skipped", "not run"])]
    {
        let totals: Vec<String> = (0..names.len()).map(|i| count(i, what).to_string()).collect();
        out.push_str(&format!("| **{total}** | {} |\n", totals.join(" | ")));
    }
    out
}

/// (outcome, spec) per line of a results file; none if there is no file.
fn read_results(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(o, s)| (o.to_string(), s.to_string()))
        .collect()
}

/// Ginkgo matches its focus against a spec's text, which is the JUnit name without the "[It] "
/// in front and the label list behind; the part before " [NodeConformance]" names it enough
/// (`run` appends `.*\[NodeConformance\]`). Empty when nothing failed.
fn failed_focus(results: &[(String, String)]) -> String {
    let escape = |text: &str| {
        text.chars().fold(String::new(), |mut out, c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
            out
        })
    };
    let names = results.iter().filter(|(o, _)| o == "failed").map(|(_, spec)| {
        let text = spec.strip_prefix("[It] ").unwrap_or(spec);
        escape(text.split(" [NodeConformance]").next().unwrap_or(text))
    });
    names.collect::<Vec<_>>().join("|")
}

/// Rewrites `results` with the outcome each spec that ran in `rerun` had there (specs new to
/// `results` are added).
fn merge(results: &str, rerun: &str) {
    let again: BTreeMap<String, String> = read_results(rerun)
        .into_iter()
        .filter(|(o, _)| o != "skipped")
        .map(|(o, s)| (s, o))
        .collect();
    let mut merged: BTreeMap<String, String> =
        read_results(results).into_iter().map(|(o, s)| (s, o)).collect();
    merged.extend(again.iter().map(|(s, o)| (s.clone(), o.clone())));
    let lines: String = merged.iter().map(|(spec, o)| format!("{o}\t{spec}\n")).collect();
    std::fs::write(results, lines).unwrap_or_else(|e| panic!("{results}: {e}"));
    println!("{} specs ran again; their outcomes are in {results}", again.len());
}

/// The skip list as Markdown: each spec and why this machine cannot run it.
fn left_out() -> String {
    let mut out = String::from("\nLeft out on this machine:\n\n");
    for (spec, why) in SKIPPED {
        out.push_str(&format!("- `{spec}`: {why}.\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failed_focus_names_only_the_failed_specs_escaped() {
        let results = vec![
            ("failed".to_string(), "[It] [sig-node] Pods should get a host IP [NodeConformance] [Conformance] [sig-node, NodeConformance]".to_string()),
            ("passed".to_string(), "[It] [sig-node] Pods should be updated [NodeConformance] [sig-node, NodeConformance]".to_string()),
            ("failed".to_string(), "[It] [sig-node] Probing container (a.b) [NodeConformance]".to_string()),
        ];
        assert_eq!(
            failed_focus(&results),
            r"\[sig-node\] Pods should get a host IP|\[sig-node\] Probing container \(a\.b\)"
        );
        assert_eq!(failed_focus(&results[1..2]), "");
    }
}
