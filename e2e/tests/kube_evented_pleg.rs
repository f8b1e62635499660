//! The cluster workloads again, with kubelet's `EventedPLEG` gate on: kubelet then learns of
//! container changes from cricket's GetContainerEvents stream rather than relisting alone.

#[macro_use]
mod kube_scenarios;

use e2e::cluster::ClusterOptions;

fn options() -> ClusterOptions {
    ClusterOptions { feature_gates: vec![("EventedPLEG".into(), true)], ..Default::default() }
}

workload_tests!(options());

#[test]
fn kubelet_subscribes_to_cricket_s_container_events() {
    let cluster = shared(options());
    let subscribed =
        cluster.node.cricket_log_tail(usize::MAX).contains("a container events subscriber joined");
    assert!(subscribed, "kubelet never called GetContainerEvents");
    let log = std::fs::read_to_string(cluster.log("kubelet")).unwrap();
    assert!(
        !log.contains("Evented PLEG: Failed to get container events"),
        "kubelet could not stream cricket's events"
    );
}

#[test]
fn stats_match_the_cgroups() {
    kube_scenarios::stats::stats_summary_and_resource_metrics_match_the_cgroups(
        &shared(options()),
        "stats",
    );
}
