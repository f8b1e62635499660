//! cricket: a Kubernetes Container Runtime Interface server over containerd.
//!
//! Layers, from the top (after containerd's `internal/cri`):
//! - services: [`runtime`] and [`image`] route the gRPC services; each RPC, or small family of
//!   them, has its file in [`sandbox`], [`container`], [`exec`], [`streaming`], [`stats`],
//!   [`image`] and [`cri_events`];
//! - domain state: [`store`] (the stores and their persistence, `docs/state.md`), [`spec`]
//!   (the OCI spec builder), shared through [`context::Context`];
//! - adapters: [`adapters`] (containerd, CNI and namespaces, behind traits with fakes in
//!   unit tests), [`logs`], and the crates `containerd-bridge` and `cni` beneath;
//! - platform: [`sys`], where every `unsafe` block and raw syscall lives.
//!
//! Errors are [`error::Error`], which becomes a gRPC status in one place.

pub mod adapters;
pub mod api;
pub mod apparmor;
pub mod cdi;
pub mod check;
pub mod cli;
pub mod config;
pub mod container;
pub mod context;
pub mod cri_events;
pub mod daemon;
pub mod daemon_metrics;
pub mod detached;
pub mod error;
pub mod exec;
pub mod h2_authority;
pub mod image;
pub mod janitor;
pub mod labels;
pub mod list_pages;
pub mod locks;
pub mod logs;
pub mod pause_image;
pub mod recovery;
pub(crate) mod rpc_ids;
pub mod runtime;
pub mod sandbox;
pub mod sd_notify;
pub mod server;
pub mod shim_turns;
pub mod singleflight;
pub mod spec;
pub mod stats;
pub mod store;
pub mod streaming;
pub mod sys;
#[cfg(test)]
mod testing;
pub mod tracing_setup;

/// The name cricket reports as `runtime_name`.
pub const RUNTIME_NAME: &str = "cricket";
/// cricket's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The CRI API version served.
pub const CRI_API_VERSION: &str = "v1";
