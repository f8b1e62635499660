//! The runtime side of the Container Network Interface: finding and parsing network
//! configurations (and, in later steps, running plugins and caching their results).
//! It knows nothing of CRI or containerd.

mod conflist;
mod error;
mod loader;

pub use conflist::{NetworkConfigList, PluginConfig};
pub use error::{CniError, Result};
pub use loader::load_default_network;
