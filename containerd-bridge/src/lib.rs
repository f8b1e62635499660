//! The boundary between cricket and containerd.
//!
//! Nothing here knows about CRI requests: it speaks containerd's own vocabulary (namespaces,
//! content, leases, snapshots, diffs, images) so that the CRI services above it stay unit-testable
//! behind traits and this crate can be exercised against a real containerd in e2e.

mod connection;
mod content;
mod digest;
mod error;
mod gc_labels;
mod image_store;
mod import;
mod lease;
mod namespace;
pub mod oci_image;
mod unpack;

pub use connection::{Containerd, ContainerdConfig};
pub use digest::{chain_ids, sha256_digest};
pub use error::{BridgeError, Result};
pub use image_store::ImageRecord;
pub use import::ImportOptions;
pub use lease::Lease;
