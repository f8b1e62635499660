//! A one-node cluster whose kubelet uses cricket: what the node reports about its runtime.

use e2e::cluster::{Cluster, ClusterOptions, NODE_NAME};

#[test]
fn the_node_reports_cricket_its_cgroup_driver_and_its_runtime_handlers() {
    let cluster = Cluster::start(ClusterOptions::default());
    let version = cluster.kubectl_ok(&["get", "node", NODE_NAME, "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}"]);
    assert_eq!(version, format!("cricket://{}", env!("CARGO_PKG_VERSION")));
    let handlers = cluster.kubectl_ok(&["get", "node", NODE_NAME, "-o", "jsonpath={.status.runtimeHandlers}"]);
    eprintln!("runtime handlers: {handlers}");
    assert!(handlers.contains("\"name\":\"runc\""), "{handlers}");
    let log = std::fs::read_to_string(cluster.log("kubelet")).unwrap();
    let driver = log.lines().find(|l| l.contains("Using cgroup driver setting received from the CRI runtime"));
    assert!(driver.is_some_and(|l| l.contains("cgroupDriver=\"cgroupfs\"")), "kubelet did not take cricket's cgroup driver: {driver:?}");
    cluster.finish();
}
