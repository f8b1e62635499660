//! The runtime side of the Container Network Interface (spec 1.0/1.1): finding and watching
//! network configurations, running plugins (ADD, CHECK, DEL, VERSION, STATUS, GC) with
//! `prevResult` chained and capability arguments, reading their results of any version, and
//! caching ADD results on disk for DEL. It knows nothing of CRI or containerd.

mod args;
mod cache;
mod conflist;
mod error;
mod exec;
mod loader;
mod plugin;
mod result;
mod runtime;
mod watch;

pub use args::RuntimeConf;
pub use cache::{CachedAttachment, ResultCache};
pub use conflist::{NetworkConfigList, PluginConfig};
pub use error::{CniError, Result};
pub use loader::load_default_network;
pub use plugin::find_plugin;
pub use result::{CniResult, Dns, Interface, IpConfig};
pub use runtime::CniRuntime;
pub use watch::NetworkConfigs;
