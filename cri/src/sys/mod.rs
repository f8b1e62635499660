//! The platform: what cricket asks of the kernel directly.

pub mod blocking;
pub mod random;
