//! A one-node cluster whose kubelet uses cricket: kubelet's stats from the CRI and its
//! rotation of container logs. The tests share one cluster.

mod kube_scenarios;

use e2e::cluster::ClusterOptions;
use e2e::cluster_ops::shared;
use kube_scenarios::stats;

#[test]
fn stats_summary_and_resource_metrics_match_the_cgroups() {
    stats::stats_summary_and_resource_metrics_match_the_cgroups(
        &shared(ClusterOptions::default()),
        "stats",
    );
}

#[test]
fn kubelet_rotates_a_chatty_log_without_losing_a_line() {
    stats::kubelet_rotates_a_chatty_log_without_losing_a_line(
        &shared(ClusterOptions::default()),
        "rotation",
    );
}
