//! A container's cgroup resources from `LinuxContainerResources`.

use crate::api::v1::LinuxContainerResources;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder, LinuxResources, Spec,
};

use super::SpecError;

/// Builds the OCI resources; zero values mean "not set", as kubelet sends them. Hugepage
/// limits are left out where the node has no hugetlb controller runc can use (`hugetlb`
/// false): kubelet asks them of every container, and runc would fail each start.
pub fn linux_resources(
    r: &LinuxContainerResources,
    hugetlb: bool,
) -> Result<LinuxResources, SpecError> {
    let mut cpu = LinuxCpuBuilder::default();
    if r.cpu_shares > 0 {
        cpu = cpu.shares(r.cpu_shares as u64);
    }
    if r.cpu_quota != 0 {
        cpu = cpu.quota(r.cpu_quota);
    }
    if r.cpu_period > 0 {
        cpu = cpu.period(r.cpu_period as u64);
    }
    if !r.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(r.cpuset_cpus.clone());
    }
    if !r.cpuset_mems.is_empty() {
        cpu = cpu.mems(r.cpuset_mems.clone());
    }
    let mut memory = LinuxMemoryBuilder::default();
    if r.memory_limit_in_bytes > 0 {
        memory = memory.limit(r.memory_limit_in_bytes);
    }
    if r.memory_swap_limit_in_bytes > 0 {
        memory = memory.swap(r.memory_swap_limit_in_bytes);
    }
    let hugepages = r
        .hugepage_limits
        .iter()
        .filter(|_| hugetlb)
        .map(|h| {
            LinuxHugepageLimitBuilder::default()
                .page_size(h.page_size.clone())
                .limit(h.limit as i64)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = LinuxResources::default();
    out.set_cpu(Some(cpu.build()?));
    out.set_memory(Some(memory.build()?));
    out.set_hugepage_limits(Some(hugepages).filter(|h| !h.is_empty()));
    out.set_unified(Some(r.unified.clone()).filter(|u| !u.is_empty()));
    Ok(out)
}

/// Sets the resources, keeping the device rules already in the spec.
pub fn set_resources(
    spec: &mut Spec,
    r: &LinuxContainerResources,
    hugetlb: bool,
) -> Result<(), SpecError> {
    let mut resources = linux_resources(r, hugetlb)?;
    let linux = spec.linux_mut().as_mut().expect("linux");
    resources.set_devices(linux.resources().as_ref().and_then(|old| old.devices().clone()));
    linux.set_resources(Some(resources));
    Ok(())
}

/// UpdateContainerResources' merge, as containerd's: a value kubelet sends replaces the one
/// in force; one it leaves at zero keeps it.
pub fn merge(
    current: &LinuxContainerResources,
    update: &LinuxContainerResources,
) -> LinuxContainerResources {
    fn pick<T: PartialEq + Default + Clone>(new: &T, old: &T) -> T {
        if *new != T::default() {
            new.clone()
        } else {
            old.clone()
        }
    }
    LinuxContainerResources {
        cpu_period: pick(&update.cpu_period, &current.cpu_period),
        cpu_quota: pick(&update.cpu_quota, &current.cpu_quota),
        cpu_shares: pick(&update.cpu_shares, &current.cpu_shares),
        memory_limit_in_bytes: pick(&update.memory_limit_in_bytes, &current.memory_limit_in_bytes),
        oom_score_adj: pick(&update.oom_score_adj, &current.oom_score_adj),
        cpuset_cpus: pick(&update.cpuset_cpus, &current.cpuset_cpus),
        cpuset_mems: pick(&update.cpuset_mems, &current.cpuset_mems),
        hugepage_limits: pick(&update.hugepage_limits, &current.hugepage_limits),
        unified: pick(&update.unified, &current.unified),
        memory_swap_limit_in_bytes: pick(
            &update.memory_swap_limit_in_bytes,
            &current.memory_swap_limit_in_bytes,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelets_values_map_and_zero_means_unset() {
        let r = LinuxContainerResources {
            cpu_shares: 512,
            cpu_quota: 50_000,
            cpu_period: 100_000,
            memory_limit_in_bytes: 64 << 20,
            ..Default::default()
        };
        let out = linux_resources(&r, true).unwrap();
        let cpu = out.cpu().clone().unwrap();
        assert_eq!(
            (cpu.shares(), cpu.quota(), cpu.period()),
            (Some(512), Some(50_000), Some(100_000))
        );
        assert_eq!(out.memory().unwrap().limit(), Some(64 << 20));
        let none = linux_resources(&LinuxContainerResources::default(), true).unwrap();
        assert_eq!(none.memory().unwrap().limit(), None);
    }

    #[test]
    fn hugepage_limits_are_kept_only_where_a_hugetlb_controller_serves() {
        let page = |size: &str| crate::api::v1::HugepageLimit { page_size: size.into(), limit: 0 };
        let r = LinuxContainerResources {
            hugepage_limits: vec![page("2MB"), page("1GB")],
            ..Default::default()
        };
        let kept = linux_resources(&r, true).unwrap().hugepage_limits().clone().unwrap();
        assert_eq!(kept.iter().map(|h| h.page_size().as_str()).collect::<Vec<_>>(), ["2MB", "1GB"]);
        assert_eq!(linux_resources(&r, false).unwrap().hugepage_limits(), &None);
    }

    #[test]
    fn an_update_replaces_what_it_sets_and_keeps_the_rest() {
        let current = LinuxContainerResources {
            cpu_shares: 512,
            memory_limit_in_bytes: 64 << 20,
            cpuset_cpus: "0".into(),
            ..Default::default()
        };
        let update = LinuxContainerResources {
            memory_limit_in_bytes: 128 << 20,
            cpu_quota: 20_000,
            ..Default::default()
        };
        let merged = merge(&current, &update);
        assert_eq!(
            (merged.cpu_shares, merged.memory_limit_in_bytes, merged.cpu_quota),
            (512, 128 << 20, 20_000)
        );
        assert_eq!(merged.cpuset_cpus, "0");
    }
}
