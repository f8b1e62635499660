//! Where cricket meets what runs outside it: containerd (its containers, tasks and events, its
//! health, the shims it leaves), the CNI plugins, and the kernel's namespaces. The lifecycle
//! reaches containerd, CNI and the namespaces through traits (`Lifecycle`, `PodNetwork`,
//! `NamespacePinner`), so that its decisions are unit-tested against `crate::testing`'s fakes.

pub mod containerd_event_loop;
pub mod containerd_lifecycle;
pub mod containerd_monitor;
pub mod namespace_pins;
pub mod pod_network;
pub mod shim_sweep;
