//! A one-node cluster whose kubelet uses cricket: workloads as a cluster user runs them
//! through kubectl. The tests share one cluster; each works in a namespace of its own.

#[macro_use]
mod kube_scenarios;

workload_tests!(e2e::cluster::ClusterOptions::default());
