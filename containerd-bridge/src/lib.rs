//! The boundary between cricket and containerd.
//!
//! Nothing here knows about CRI requests: it speaks containerd's own vocabulary (namespaces,
//! content, leases, snapshots, diffs, images); the e2e tests exercise it against a real
//! containerd.

mod checkpoint;
mod connection;
mod container;
mod content;
mod content_writer;
mod digest;
mod error;
mod events;
mod exec;
pub mod gc_labels;
mod image_info;
mod image_store;
mod import;
mod lease;
mod namespace;
pub mod oci_image;
pub mod pull;
mod snapshot_usage;
mod task;
mod task_delete_locks;
mod unpack;
mod version;

pub use connection::{Containerd, ContainerdConfig};
pub use container::{NewContainer, RuncOptions};
/// A container record as containerd returns it.
pub use containerd_client::services::v1::Container;
/// A snapshot mount as containerd returns it.
pub use containerd_client::types::Mount;
pub use content_writer::ContentWriter;
pub use digest::{chain_ids, sha256_digest};
pub use error::{BridgeError, Result};
pub use events::{Event, EventStream};
pub use image_info::ImageDetails;
pub use image_store::ImageRecord;
pub use import::ImportOptions;
pub use lease::Lease;
pub use snapshot_usage::SnapshotUsage;
pub use task::{TaskExit, TaskIo, TaskState};
pub use version::{ContainerdVersion, Support};
