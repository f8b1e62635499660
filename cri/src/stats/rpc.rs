//! ContainerStats and ListContainerStats: every container the runtime has, from the moment it
//! is created. A running one's usage comes from the sampler's cache, or is read on demand when
//! it started since the sampler's last round; a created or exited one reports zero usage.

use crate::api::v1::{
    ContainerAttributes, ContainerMetadata, ContainerStats, ContainerStatsFilter,
    ContainerStatsRequest, ContainerStatsResponse, CpuUsage, FilesystemUsage, IoUsage,
    ListContainerStatsRequest, ListContainerStatsResponse, MemoryUsage,
    StreamContainerStatsRequest, StreamContainerStatsResponse, SwapUsage, UInt64Value,
};
use crate::error::Error;
use crate::list_pages::{pages, PageStream};
use std::sync::Arc;

use super::pressure;
use super::sampler::ContainerSample;
use crate::context::Context;
use crate::store::containers::Container;

fn value(v: u64) -> Option<UInt64Value> {
    Some(UInt64Value { value: v })
}

/// The writable layer's usage, on the snapshotter's file system.
fn writable_layer(ctx: &Context, id: &str) -> Option<FilesystemUsage> {
    let layer = ctx.stats.layer(id)?;
    let fs_id = ctx.fs_usage().and_then(|u| u.fs_id);
    Some(FilesystemUsage {
        timestamp: layer.at_ns,
        fs_id,
        used_bytes: value(layer.usage.bytes),
        inodes_used: value(layer.usage.inodes),
    })
}

pub(super) fn cpu_usage(s: &ContainerSample) -> CpuUsage {
    CpuUsage {
        timestamp: s.at_ns,
        usage_core_nano_seconds: value(s.cgroup.cpu_usage_ns),
        usage_nano_cores: s.nano_cores.and_then(value),
        psi: s.cgroup.pressure.cpu.as_ref().map(pressure::to_cri),
    }
}

pub(super) fn memory_usage(s: &ContainerSample) -> MemoryUsage {
    let g = &s.cgroup;
    MemoryUsage {
        timestamp: s.at_ns,
        working_set_bytes: value(g.working_set),
        available_bytes: g.memory_limit.map(|l| l.saturating_sub(g.working_set)).and_then(value),
        usage_bytes: value(g.memory_usage),
        rss_bytes: value(g.rss),
        page_faults: value(g.page_faults),
        major_page_faults: value(g.major_page_faults),
        psi: g.pressure.memory.as_ref().map(pressure::to_cri),
    }
}

pub(super) fn to_cri(ctx: &Context, c: &Container, s: &ContainerSample) -> ContainerStats {
    let g = &s.cgroup;
    let t = s.at_ns;
    ContainerStats {
        attributes: Some(ContainerAttributes {
            id: c.meta.id.clone(),
            metadata: Some(ContainerMetadata {
                name: c.meta.name.clone(),
                attempt: c.meta.attempt,
            }),
            labels: c.config.labels.clone(),
            annotations: c.config.annotations.clone(),
        }),
        cpu: Some(cpu_usage(s)),
        memory: Some(memory_usage(s)),
        writable_layer: writable_layer(ctx, &c.meta.id),
        swap: g.swap_usage.map(|u| SwapUsage {
            timestamp: t,
            swap_available_bytes: None,
            swap_usage_bytes: value(u),
        }),
        io: io_usage(s),
    }
}

/// I/O pressure, where the cgroup reports it (v2).
pub(super) fn io_usage(s: &ContainerSample) -> Option<IoUsage> {
    let psi = s.cgroup.pressure.io.as_ref()?;
    Some(IoUsage { timestamp: s.at_ns, psi: Some(pressure::to_cri(psi)) })
}

/// The container's usage now: measured while it runs, zero otherwise.
fn usage(ctx: &Context, c: &Container) -> ContainerSample {
    ctx.stats.of_running_now(c).unwrap_or_else(|| ContainerSample {
        at_ns: crate::sys::clock::now_ns(),
        cgroup: Default::default(),
        nano_cores: None,
    })
}

pub(crate) fn container_stats(
    ctx: &Context,
    req: ContainerStatsRequest,
) -> Result<ContainerStatsResponse, Error> {
    let c = ctx
        .containers
        .get(&req.container_id)
        .ok_or_else(|| crate::error::container_not_found(&req.container_id))?;
    Ok(ContainerStatsResponse { stats: Some(to_cri(ctx, &c, &usage(ctx, &c))) })
}

/// The containers a stats filter selects (any state).
fn matching(ctx: &Context, filter: Option<ContainerStatsFilter>) -> Vec<Container> {
    let f = filter.unwrap_or_default();
    ctx.containers.select(|c| c.matches(&f.id, &f.pod_sandbox_id, &f.label_selector))
}

pub(crate) fn list_container_stats(
    ctx: &Context,
    req: ListContainerStatsRequest,
) -> ListContainerStatsResponse {
    let stats = matching(ctx, req.filter).iter().map(|c| to_cri(ctx, c, &usage(ctx, c))).collect();
    ListContainerStatsResponse { stats }
}

pub(crate) fn stream_container_stats(
    ctx: &Arc<Context>,
    req: StreamContainerStatsRequest,
) -> PageStream<StreamContainerStatsResponse> {
    let ctx = ctx.clone();
    pages(
        matching(&ctx, req.filter),
        move |c| Some(to_cri(&ctx, c, &usage(&ctx, c))),
        |container_stats| StreamContainerStatsResponse { container_stats },
    )
}
