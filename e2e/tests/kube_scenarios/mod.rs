//! What a cluster user does through kubectl, as functions over a running cluster, so that
//! more than one cluster (kubelet's generic PLEG, and its evented one) runs the same checks.
//! Each scenario works in a namespace of its own. (Each test binary uses a part of them.)

#![allow(dead_code, unused_macros)]

pub mod cri_features;
pub mod lifecycle;
pub mod pods;
pub mod resources;
pub mod stats;
pub mod streaming;
pub mod volumes;

use e2e::cluster::Cluster;
use serde_json::{json, Value};

/// A pod spec with `containers` that goes quickly when deleted.
pub fn pod_spec(_cluster: &Cluster, containers: Value) -> Value {
    json!({"containers": containers, "terminationGracePeriodSeconds": 1, "enableServiceLinks": false})
}

/// A pod `ns/name` of one container `c` running `script` in the busybox image.
pub fn shell_pod(cluster: &Cluster, ns: &str, name: &str, script: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
        "spec": pod_spec(cluster, json!([{"name": "c", "image": cluster.busybox, "command": ["sh", "-c", script]}]))})
}

/// Whether IPv4 `ip` is inside `cidr`.
pub fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap();
    let (Ok(ip), Ok(net), Ok(bits)) =
        (ip.parse::<std::net::Ipv4Addr>(), net.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>())
    else {
        return false;
    };
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(ip) & mask == u32::from(net) & mask
}

/// The workload tests, one `#[test]` per scenario, on the cluster `shared($options)` gives.
macro_rules! workload_tests {
    ($options:expr) => {
        use e2e::cluster_ops::shared;
        use kube_scenarios::streaming::Transport;
        use kube_scenarios::{cri_features, lifecycle, pods, resources, streaming, volumes};

        #[test]
        fn a_deployment_of_ten_runs_and_its_pods_reach_each_other() {
            pods::deployment_of_ten_runs_and_its_pods_reach_each_other(
                &shared($options),
                "deployment",
            );
        }

        #[test]
        fn init_containers_run_in_order_before_the_app() {
            pods::init_containers_run_in_order_before_the_app(&shared($options), "init");
        }

        #[test]
        fn probes_of_every_kind_work_and_a_failing_liveness_probe_restarts_with_backoff() {
            lifecycle::probes_of_every_kind_work_and_a_failing_liveness_probe_restarts_with_backoff(
                &shared($options),
                "probes",
            );
        }

        #[test]
        fn hooks_run_and_the_grace_period_is_honoured() {
            lifecycle::hooks_run_and_the_grace_period_is_honoured(&shared($options), "grace");
        }

        #[test]
        fn every_volume_kind_is_mounted_with_its_contents_and_modes() {
            volumes::every_volume_kind_is_mounted_with_its_contents_and_modes(
                &shared($options),
                "volumes",
            );
        }

        #[test]
        fn an_image_volume_strict_groups_and_a_stop_signal_reach_the_pods() {
            cri_features::image_volume_strict_groups_and_a_stop_signal_reach_the_pods(
                &shared($options),
                "cri-features",
            );
        }

        #[test]
        fn kubelet_checkpoints_a_running_container() {
            cri_features::kubelet_checkpoints_a_running_container(&shared($options), "checkpoint");
        }

        #[test]
        fn a_pod_without_host_users_gets_its_own_user_namespace() {
            cri_features::a_pod_without_host_users_gets_its_own_user_namespace(
                &shared($options),
                "userns",
            );
        }

        #[test]
        fn security_context_settings_take_effect() {
            volumes::security_context_settings_take_effect(&shared($options), "security");
        }

        #[test]
        fn limits_land_in_the_cgroup_and_an_in_place_resize_reaches_it() {
            resources::limits_land_in_the_cgroup_and_an_in_place_resize_reaches_it(
                &shared($options),
                "resize",
            );
        }

        #[test]
        fn a_container_over_its_memory_limit_is_oom_killed() {
            resources::a_container_over_its_memory_limit_is_oom_killed(&shared($options), "oom");
        }

        #[test]
        fn kubectl_streaming_commands_work_over_websocket() {
            streaming::kubectl_streaming_commands_work(
                &shared($options),
                "stream-ws",
                Transport::WebSocket,
                18080,
            );
        }

        #[test]
        fn kubectl_streaming_commands_work_over_spdy() {
            streaming::kubectl_streaming_commands_work(
                &shared($options),
                "stream-spdy",
                Transport::Spdy,
                18081,
            );
        }
    };
}
