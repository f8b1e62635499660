//! The cluster workloads again, with kubelet's `EventedPLEG` gate on: kubelet then learns of
//! container changes from cricket's GetContainerEvents stream rather than relisting alone.

mod kube_scenarios;

use e2e::cluster::ClusterOptions;
use e2e::cluster_ops::shared;
use kube_scenarios::streaming::Transport;
use kube_scenarios::{lifecycle, pods, resources, stats, streaming, volumes};

fn options() -> ClusterOptions {
    ClusterOptions { feature_gates: vec![("EventedPLEG".into(), true)], ..Default::default() }
}

#[test]
fn kubelet_runs_with_evented_pleg() {
    let cluster = shared(options());
    let subscribed = cluster.node.cricket_log_tail(usize::MAX).contains("a container events subscriber joined");
    assert!(subscribed, "kubelet never called GetContainerEvents");
    let log = std::fs::read_to_string(cluster.log("kubelet")).unwrap();
    assert!(!log.contains("Evented PLEG: Failed to get container events"), "kubelet could not stream cricket's events");
}

#[test]
fn a_deployment_of_ten_runs_and_its_pods_reach_each_other() {
    pods::deployment_of_ten_runs_and_its_pods_reach_each_other(&shared(options()), "deployment");
}

#[test]
fn init_containers_run_in_order_before_the_app() {
    pods::init_containers_run_in_order_before_the_app(&shared(options()), "init");
}

#[test]
fn probes_of_every_kind_work_and_a_failing_liveness_probe_restarts_with_backoff() {
    lifecycle::probes_of_every_kind_work_and_a_failing_liveness_probe_restarts_with_backoff(&shared(options()), "probes");
}

#[test]
fn hooks_run_and_the_grace_period_is_honoured() {
    lifecycle::hooks_run_and_the_grace_period_is_honoured(&shared(options()), "grace");
}

#[test]
fn every_volume_kind_and_security_context_setting_takes_effect() {
    let cluster = shared(options());
    volumes::every_volume_kind_is_mounted_with_its_contents_and_modes(&cluster, "volumes");
    volumes::security_context_settings_take_effect(&cluster, "security");
}

#[test]
fn resources_resize_and_oom_kills() {
    let cluster = shared(options());
    resources::limits_land_in_the_cgroup_and_an_in_place_resize_reaches_it(&cluster, "resize");
    resources::a_container_over_its_memory_limit_is_oom_killed(&cluster, "oom");
}

#[test]
fn kubectl_streaming_commands_work() {
    streaming::kubectl_streaming_commands_work(&shared(options()), "stream-ws", Transport::WebSocket, 18080);
}

#[test]
fn stats_match_the_cgroups() {
    stats::stats_summary_and_resource_metrics_match_the_cgroups(&shared(options()), "stats");
}
