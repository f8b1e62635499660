//! What every CRI service shares: the configuration, the containerd handle and its health.

use std::sync::Arc;

use containerd_bridge::Containerd;
use tokio::sync::watch;

use crate::config::Config;
use crate::containerd_monitor::Readiness;

pub struct Context {
    pub config: Arc<Config>,
    pub containerd: Containerd,
    pub containerd_readiness: watch::Receiver<Readiness>,
}

impl Context {
    pub fn runtime_readiness(&self) -> Readiness {
        self.containerd_readiness.borrow().clone()
    }
}
