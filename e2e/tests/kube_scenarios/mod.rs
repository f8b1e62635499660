//! What a cluster user does through kubectl, as functions over a running cluster, so that
//! more than one cluster (kubelet's generic PLEG, and its evented one) runs the same checks.
//! Each scenario works in a namespace of its own.

#![allow(dead_code)]

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
    let (Ok(ip), Ok(net), Ok(bits)) = (ip.parse::<std::net::Ipv4Addr>(), net.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>()) else {
        return false;
    };
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(ip) & mask == u32::from(net) & mask
}
