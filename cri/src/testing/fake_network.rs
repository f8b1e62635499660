//! CNI in memory: attachments with an address each, plugin errors on demand.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use cni::{CachedAttachment, CniError, CniResult, NetworkConfigList, Result, RuntimeConf};
use serde_json::json;

use super::Journal;
use crate::adapters::pod_network::PodNetwork;
use crate::locks::MutexExt;

pub struct FakeNetwork {
    journal: Journal,
    /// By container ID.
    attached: Mutex<BTreeMap<String, CachedAttachment>>,
    /// Commands ("ADD", "DEL", "STATUS", "GC") that fail with this plugin error code.
    failing: Mutex<HashMap<&'static str, u32>>,
}

impl FakeNetwork {
    pub fn new(journal: Journal) -> FakeNetwork {
        FakeNetwork { journal, attached: Default::default(), failing: Default::default() }
    }

    /// From now on, `command` fails with the plugin error `code`.
    pub fn fail(&self, command: &'static str, code: u32) {
        self.failing.locked().insert(command, code);
    }

    pub fn heal(&self, command: &'static str) {
        self.failing.locked().remove(command);
    }

    /// The container IDs attached.
    pub fn attached(&self) -> Vec<String> {
        self.attached.locked().keys().cloned().collect()
    }

    /// An attachment an ADD made that nobody claims (its sandbox never finished).
    pub fn leave_attached(&self, network: &str, id: &str) {
        self.attached.locked().insert(id.to_string(), attachment(network, id));
    }

    fn call(&self, command: &'static str, id: &str) -> Result<()> {
        self.journal.push(format!("cni {command} {id}"));
        match self.failing.locked().get(command) {
            Some(&code) => Err(CniError::Plugin {
                plugin: "bridge".into(),
                command: command.into(),
                code,
                msg: "injected".into(),
                details: String::new(),
            }),
            None => Ok(()),
        }
    }
}

fn attachment(network: &str, id: &str) -> CachedAttachment {
    CachedAttachment {
        kind: "cniCacheV1".into(),
        container_id: id.into(),
        if_name: "eth0".into(),
        network_name: network.into(),
        config: json!({}),
        result: json!({"cniVersion": "1.0.0", "ips": [{"address": "10.88.0.7/16"}]}),
        cni_args: vec![],
        capability_args: json!({}),
    }
}

#[async_trait]
impl PodNetwork for FakeNetwork {
    async fn add(&self, net: &NetworkConfigList, rc: &RuntimeConf) -> Result<CniResult> {
        self.call("ADD", &rc.container_id)?;
        let cached = attachment(&net.name, &rc.container_id);
        let result = CniResult::parse(&cached.result).expect("a valid result");
        self.attached.locked().insert(rc.container_id.clone(), cached);
        Ok(result)
    }
    async fn del_as_added(&self, network: &str, rc: &RuntimeConf) -> Result<bool> {
        let mut attached = self.attached.locked();
        if attached.get(&rc.container_id).is_none_or(|a| a.network_name != network) {
            return Ok(false);
        }
        self.call("DEL", &rc.container_id)?;
        attached.remove(&rc.container_id);
        Ok(true)
    }
    async fn status(&self, net: &NetworkConfigList) -> Result<()> {
        self.call("STATUS", &net.name)
    }
    async fn gc(&self, net: &NetworkConfigList, valid: &[(String, String)]) -> Result<()> {
        let ids: Vec<&str> = valid.iter().map(|(c, _)| c.as_str()).collect();
        self.call("GC", &format!("{} {}", net.name, ids.join(",")))?;
        let keep = |id: &String| valid.iter().any(|(c, _)| c == id);
        self.attached.locked().retain(|id, a| a.network_name != net.name || keep(id));
        Ok(())
    }
    fn attachments(&self) -> Vec<CachedAttachment> {
        self.attached.locked().values().cloned().collect()
    }
}
