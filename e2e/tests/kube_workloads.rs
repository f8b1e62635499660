//! A one-node cluster whose kubelet uses cricket: workloads as a cluster user runs them
//! through kubectl. The tests share one cluster; each works in a namespace of its own.

mod kube_scenarios;

use e2e::cluster::ClusterOptions;
use e2e::cluster_ops::shared;
use kube_scenarios::streaming::Transport;
use kube_scenarios::{lifecycle, pods, resources, streaming, volumes};

fn options() -> ClusterOptions {
    ClusterOptions::default()
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
fn every_volume_kind_is_mounted_with_its_contents_and_modes() {
    volumes::every_volume_kind_is_mounted_with_its_contents_and_modes(&shared(options()), "volumes");
}

#[test]
fn security_context_settings_take_effect() {
    volumes::security_context_settings_take_effect(&shared(options()), "security");
}

#[test]
fn limits_land_in_the_cgroup_and_an_in_place_resize_reaches_it() {
    resources::limits_land_in_the_cgroup_and_an_in_place_resize_reaches_it(&shared(options()), "resize");
}

#[test]
fn a_container_over_its_memory_limit_is_oom_killed() {
    resources::a_container_over_its_memory_limit_is_oom_killed(&shared(options()), "oom");
}

#[test]
fn kubectl_streaming_commands_work_over_websocket() {
    streaming::kubectl_streaming_commands_work(&shared(options()), "stream-ws", Transport::WebSocket, 18080);
}

#[test]
fn kubectl_streaming_commands_work_over_spdy() {
    streaming::kubectl_streaming_commands_work(&shared(options()), "stream-spdy", Transport::Spdy, 18081);
}
