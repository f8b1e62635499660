//! cricket: a Kubernetes Container Runtime Interface server over containerd.
//!
//! Layering (after containerd's `internal/cri`): the gRPC services in [`runtime`] and
//! [`image`] hold one file per RPC family; they work on the shared [`context::Context`]
//! (config, stores) which sits over the platform adapters in `containerd-bridge` and `cni`.
//! The persistence contract is written down in `docs/state.md`.

pub mod apparmor;
pub mod check;
pub mod cli;
pub mod config;
pub mod container;
pub mod containerd_event_loop;
pub mod containerd_monitor;
pub mod context;
pub mod cri_events;
pub mod daemon;
pub mod daemon_metrics;
pub mod detached;
pub mod errors;
pub mod exec;
pub mod h2_authority;
pub mod image;
pub mod janitor;
pub mod labels;
pub mod locks;
pub mod logs;
pub mod namespace_pins;
pub mod pause_image;
pub mod recovery;
pub(crate) mod rpc_ids;
pub mod runtime;
pub mod sandbox;
pub mod sd_notify;
pub mod server;
pub mod shim_sweep;
pub mod shim_turns;
pub mod singleflight;
pub mod spec;
pub mod stats;
pub mod store;
pub mod streaming;
pub mod sys;
pub mod tracing_setup;

/// The name cricket reports as `runtime_name`.
pub const RUNTIME_NAME: &str = "cricket";
/// cricket's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The CRI API version served.
pub const CRI_API_VERSION: &str = "v1";
