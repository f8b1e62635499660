//! The CNI calls a pod's network makes, behind a trait: the sandbox lifecycle's decisions
//! (rollback after a failed ADD, the order of teardown, releasing orphans) are unit-tested
//! against `crate::testing::FakeNetwork`; `cni::CniRuntime` runs the real plugins.

use async_trait::async_trait;
use cni::{CachedAttachment, CniResult, CniRuntime, NetworkConfigList, Result, RuntimeConf};

#[async_trait]
pub trait PodNetwork: Send + Sync {
    /// ADD through every plugin of `net`; the result is cached for DEL and CHECK.
    async fn add(&self, net: &NetworkConfigList, rc: &RuntimeConf) -> Result<CniResult>;
    /// DEL with the configuration the ADD ran with; `false` when nothing was cached.
    async fn del_as_added(&self, network: &str, rc: &RuntimeConf) -> Result<bool>;
    /// Whether every plugin of `net` is ready for ADDs.
    async fn status(&self, net: &NetworkConfigList) -> Result<()>;
    /// Frees what belongs to attachments of `net` other than `valid` (container ID, ifname).
    async fn gc(&self, net: &NetworkConfigList, valid: &[(String, String)]) -> Result<()>;
    /// Every attachment with a cached ADD.
    fn attachments(&self) -> Vec<CachedAttachment>;
}

#[async_trait]
impl PodNetwork for CniRuntime {
    async fn add(&self, net: &NetworkConfigList, rc: &RuntimeConf) -> Result<CniResult> {
        CniRuntime::add(self, net, rc).await
    }
    async fn del_as_added(&self, network: &str, rc: &RuntimeConf) -> Result<bool> {
        CniRuntime::del_as_added(self, network, rc).await
    }
    async fn status(&self, net: &NetworkConfigList) -> Result<()> {
        CniRuntime::status(self, net).await
    }
    async fn gc(&self, net: &NetworkConfigList, valid: &[(String, String)]) -> Result<()> {
        CniRuntime::gc(self, net, valid).await
    }
    fn attachments(&self) -> Vec<CachedAttachment> {
        self.cache().list()
    }
}
