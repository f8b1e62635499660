//! PodSandboxStats and ListPodSandboxStats: the pod's containers' readings (from the sampler's
//! cache) summed for the pod, with the network counters of its namespace.

use k8s_cri::v1::{
    CpuUsage, LinuxPodSandboxStats, ListPodSandboxStatsRequest, ListPodSandboxStatsResponse, MemoryUsage, NetworkInterfaceUsage, NetworkUsage,
    PodSandboxAttributes, PodSandboxMetadata, PodSandboxStats, PodSandboxStatsRequest, PodSandboxStatsResponse, ProcessUsage, UInt64Value,
};
use tonic::Status;

use super::net_dev;
use crate::context::Context;
use crate::store::sandboxes::Sandbox;

fn value(v: u64) -> Option<UInt64Value> {
    Some(UInt64Value { value: v })
}

fn interface(i: &net_dev::InterfaceCounters) -> NetworkInterfaceUsage {
    NetworkInterfaceUsage { name: i.name.clone(), rx_bytes: value(i.rx_bytes), rx_errors: value(i.rx_errors), tx_bytes: value(i.tx_bytes), tx_errors: value(i.tx_errors) }
}

fn pod_stats(ctx: &Context, s: &Sandbox) -> PodSandboxStats {
    let now = crate::container::now_ns();
    let containers: Vec<_> = ctx.containers.in_sandbox(&s.meta.id).into_iter().filter_map(|c| ctx.stats.get(&c.meta.id).map(|sample| (c, sample))).collect();
    let sum = |f: &dyn Fn(&super::sampler::ContainerSample) -> u64| containers.iter().map(|(_, s)| f(s)).sum::<u64>();
    let cpu = CpuUsage { timestamp: now, usage_core_nano_seconds: value(sum(&|s| s.cgroup.cpu_usage_ns)), usage_nano_cores: value(sum(&|s| s.nano_cores.unwrap_or(0))) };
    let memory = MemoryUsage {
        timestamp: now,
        working_set_bytes: value(sum(&|s| s.cgroup.working_set)),
        available_bytes: None,
        usage_bytes: value(sum(&|s| s.cgroup.memory_usage)),
        rss_bytes: value(sum(&|s| s.cgroup.rss)),
        page_faults: value(sum(&|s| s.cgroup.page_faults)),
        major_page_faults: value(sum(&|s| s.cgroup.major_page_faults)),
    };
    let network = net_dev::of_pod(ctx, s).map(|all| {
        let default_interface = all.iter().find(|i| i.name == "eth0").or(all.first()).map(interface);
        NetworkUsage { timestamp: now, default_interface, interfaces: all.iter().map(interface).collect() }
    });
    let m = &s.meta;
    PodSandboxStats {
        attributes: Some(PodSandboxAttributes {
            id: m.id.clone(),
            metadata: Some(PodSandboxMetadata { name: m.name.clone(), uid: m.uid.clone(), namespace: m.namespace.clone(), attempt: m.attempt }),
            labels: s.config.labels.clone(),
            annotations: s.config.annotations.clone(),
        }),
        linux: Some(LinuxPodSandboxStats {
            cpu: Some(cpu),
            memory: Some(memory),
            network,
            process: Some(ProcessUsage { timestamp: now, process_count: value(sum(&|s| s.cgroup.pids.unwrap_or(0))) }),
            containers: containers.iter().map(|(c, sample)| super::rpc::to_cri(ctx, c, sample)).collect(),
        }),
        windows: None,
    }
}

pub(crate) fn pod_sandbox_stats(ctx: &Context, req: PodSandboxStatsRequest) -> Result<PodSandboxStatsResponse, Status> {
    let s = ctx.sandboxes.get(&req.pod_sandbox_id).ok_or_else(|| Status::not_found(format!("pod sandbox {:?} not found", req.pod_sandbox_id)))?;
    Ok(PodSandboxStatsResponse { stats: Some(pod_stats(ctx, &s)) })
}

pub(crate) fn list_pod_sandbox_stats(ctx: &Context, req: ListPodSandboxStatsRequest) -> ListPodSandboxStatsResponse {
    let f = req.filter.unwrap_or_default();
    let stats = ctx
        .sandboxes
        .list()
        .into_iter()
        .filter(|s| f.id.is_empty() || s.meta.id.starts_with(&f.id))
        .filter(|s| f.label_selector.iter().all(|(k, v)| s.config.labels.get(k) == Some(v)))
        .map(|s| pod_stats(ctx, &s))
        .collect();
    ListPodSandboxStatsResponse { stats }
}
