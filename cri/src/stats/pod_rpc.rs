//! PodSandboxStats and ListPodSandboxStats from the sampler's cache: the pod's own cgroup (or
//! its containers' readings summed), its containers' stats, and the network counters of its
//! namespace.

use crate::api::v1::{
    LinuxPodSandboxStats, ListPodSandboxStatsRequest, ListPodSandboxStatsResponse,
    NetworkInterfaceUsage, NetworkUsage, PodSandboxAttributes, PodSandboxMetadata, PodSandboxStats,
    PodSandboxStatsFilter, PodSandboxStatsRequest, PodSandboxStatsResponse, ProcessUsage,
    StreamPodSandboxStatsRequest, StreamPodSandboxStatsResponse, UInt64Value,
};
use crate::error::Error;
use crate::list_pages::{pages, PageStream};
use std::sync::Arc;

use super::cgroup::CgroupSample;
use super::sampler::ContainerSample;
use super::{net_dev, rpc};
use crate::context::Context;
use crate::store::sandboxes::Sandbox;

fn value(v: u64) -> Option<UInt64Value> {
    Some(UInt64Value { value: v })
}

fn interface(i: &net_dev::InterfaceCounters) -> NetworkInterfaceUsage {
    NetworkInterfaceUsage {
        name: i.name.clone(),
        rx_bytes: value(i.rx_bytes),
        rx_errors: value(i.rx_errors),
        tx_bytes: value(i.tx_bytes),
        tx_errors: value(i.tx_errors),
    }
}

/// The pod's containers' readings added up: for pods without a cgroup of their own.
fn summed(samples: &[&ContainerSample], at_ns: i64) -> ContainerSample {
    let sum = |f: &dyn Fn(&ContainerSample) -> u64| samples.iter().map(|s| f(s)).sum::<u64>();
    let cgroup = CgroupSample {
        cpu_usage_ns: sum(&|s| s.cgroup.cpu_usage_ns),
        memory_usage: sum(&|s| s.cgroup.memory_usage),
        working_set: sum(&|s| s.cgroup.working_set),
        rss: sum(&|s| s.cgroup.rss),
        page_faults: sum(&|s| s.cgroup.page_faults),
        major_page_faults: sum(&|s| s.cgroup.major_page_faults),
        memory_limit: None,
        swap_usage: None,
        pids: Some(sum(&|s| s.cgroup.pids.unwrap_or(0))),
        // Stalls do not add up across cgroups.
        pressure: Default::default(),
    };
    ContainerSample { at_ns, cgroup, nano_cores: Some(sum(&|s| s.nano_cores.unwrap_or(0))) }
}

/// CPU, memory and processes from the pod's own cgroup (kubelet's `cgroup_parent`, which also
/// holds what exited containers used), else the sum of its running containers.
fn pod_stats(ctx: &Context, s: &Sandbox) -> PodSandboxStats {
    let now = crate::sys::clock::now_ns();
    let containers: Vec<_> = ctx
        .containers
        .in_sandbox(&s.meta.id)
        .into_iter()
        .filter_map(|c| ctx.stats.of_running(&c).map(|sample| (c, sample)))
        .collect();
    let own = ctx
        .stats
        .pod(&s.meta.id)
        .unwrap_or_else(|| summed(&containers.iter().map(|(_, s)| s).collect::<Vec<_>>(), now));
    let (cpu, memory) = (rpc::cpu_usage(&own), rpc::memory_usage(&own));
    let network = net_dev::of_pod(ctx, s).map(|all| {
        let default_interface =
            all.iter().find(|i| i.name == "eth0").or(all.first()).map(interface);
        NetworkUsage {
            timestamp: now,
            default_interface,
            interfaces: all.iter().map(interface).collect(),
        }
    });
    let m = &s.meta;
    PodSandboxStats {
        attributes: Some(PodSandboxAttributes {
            id: m.id.clone(),
            metadata: Some(PodSandboxMetadata {
                name: m.name.clone(),
                uid: m.uid.clone(),
                namespace: m.namespace.clone(),
                attempt: m.attempt,
            }),
            labels: s.config.labels.clone(),
            annotations: s.config.annotations.clone(),
        }),
        linux: Some(LinuxPodSandboxStats {
            cpu: Some(cpu),
            memory: Some(memory),
            network,
            process: Some(ProcessUsage {
                timestamp: own.at_ns,
                process_count: own.cgroup.pids.and_then(value),
            }),
            containers: containers.iter().map(|(c, sample)| rpc::to_cri(ctx, c, sample)).collect(),
            io: rpc::io_usage(&own),
        }),
        windows: None,
    }
}

pub(crate) fn pod_sandbox_stats(
    ctx: &Context,
    req: PodSandboxStatsRequest,
) -> Result<PodSandboxStatsResponse, Error> {
    let s = ctx
        .sandboxes
        .get(&req.pod_sandbox_id)
        .ok_or_else(|| crate::error::sandbox_not_found(&req.pod_sandbox_id))?;
    Ok(PodSandboxStatsResponse { stats: Some(pod_stats(ctx, &s)) })
}

/// The pods a stats filter selects.
fn matching(ctx: &Context, filter: Option<PodSandboxStatsFilter>) -> Vec<Sandbox> {
    let f = filter.unwrap_or_default();
    ctx.sandboxes.select(|s| s.matches(&f.id, &f.label_selector))
}

pub(crate) fn list_pod_sandbox_stats(
    ctx: &Context,
    req: ListPodSandboxStatsRequest,
) -> ListPodSandboxStatsResponse {
    let stats = matching(ctx, req.filter).iter().map(|s| pod_stats(ctx, s)).collect();
    ListPodSandboxStatsResponse { stats }
}

pub(crate) fn stream_pod_sandbox_stats(
    ctx: &Arc<Context>,
    req: StreamPodSandboxStatsRequest,
) -> PageStream<StreamPodSandboxStatsResponse> {
    let ctx = ctx.clone();
    pages(
        matching(&ctx, req.filter),
        move |s| Some(pod_stats(&ctx, s)),
        |pod_sandbox_stats| StreamPodSandboxStatsResponse { pod_sandbox_stats },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_add_up_for_a_pod_without_a_cgroup() {
        let sample = |cpu, mem, pids| ContainerSample {
            at_ns: 1,
            cgroup: CgroupSample {
                cpu_usage_ns: cpu,
                working_set: mem,
                memory_usage: mem,
                pids: Some(pids),
                memory_limit: Some(1 << 30),
                ..Default::default()
            },
            nano_cores: Some(cpu / 10),
        };
        let (a, b) = (sample(100, 10, 1), sample(300, 30, 2));
        let pod = summed(&[&a, &b], 7);
        assert_eq!(
            (
                pod.at_ns,
                pod.cgroup.cpu_usage_ns,
                pod.cgroup.working_set,
                pod.cgroup.pids,
                pod.nano_cores
            ),
            (7, 400, 40, Some(3), Some(40))
        );
        assert_eq!(pod.cgroup.memory_limit, None, "limits do not add up");
    }
}
