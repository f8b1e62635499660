//! In-memory stores: everything kubelet asks about is answered from here, never by walking
//! containerd. Each store is rebuilt from containerd at start.

pub mod containers;
pub mod extension;
pub mod images;
pub mod records;
pub mod sandboxes;
pub mod status_file;
