//! Running a network configuration list: ADD through the plugins in order with `prevResult`
//! chained, CHECK and DEL with the cached result (DEL in reverse order), and VERSION, STATUS and
//! GC. A failed ADD is undone with a DEL before the error is returned.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::args::RuntimeConf;
use crate::cache::ResultCache;
use crate::conflist::{NetworkConfigList, PluginConfig};
use crate::error::{CniError, Result};
use crate::exec::{invoke, Invocation};
use crate::plugin::find_plugin;
use crate::result::CniResult;

pub struct CniRuntime {
    bin_dirs: Vec<PathBuf>,
    cache: ResultCache,
    timeout: Duration,
}

/// Whether `version` (e.g. "1.1.0") is at least `major.minor`.
fn at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

impl CniRuntime {
    /// Plugins are looked up in `bin_dirs`; ADD results are cached under `cache_dir`; each
    /// plugin call may take at most `timeout`.
    pub fn new(
        bin_dirs: Vec<PathBuf>,
        cache_dir: impl Into<PathBuf>,
        timeout: Duration,
    ) -> CniRuntime {
        CniRuntime { bin_dirs, cache: ResultCache::new(cache_dir), timeout }
    }

    pub fn cache(&self) -> &ResultCache {
        &self.cache
    }

    /// The stdin config of one plugin: its own object with the list's name and version, the
    /// previous result, and the capability arguments it declares.
    fn plugin_config(
        net: &NetworkConfigList,
        plugin: &PluginConfig,
        rc: Option<&RuntimeConf>,
        prev: Option<&Value>,
    ) -> Vec<u8> {
        let mut conf = plugin.raw.clone();
        conf["name"] = json!(net.name);
        conf["cniVersion"] = json!(net.cni_version);
        if let Some(prev) = prev {
            conf["prevResult"] = prev.clone();
        }
        if let Some(rc) = rc {
            let mut runtime_config = serde_json::Map::new();
            for (capability, value) in &rc.capability_args {
                if plugin.raw["capabilities"][capability].as_bool() == Some(true) {
                    runtime_config.insert(capability.clone(), value.clone());
                }
            }
            if !runtime_config.is_empty() {
                conf["runtimeConfig"] = Value::Object(runtime_config);
            }
        }
        serde_json::to_vec(&conf).expect("a JSON value serialises")
    }

    async fn call(
        &self,
        command: &str,
        net: &NetworkConfigList,
        plugin: &PluginConfig,
        rc: Option<&RuntimeConf>,
        prev: Option<&Value>,
    ) -> Result<Vec<u8>> {
        let binary = find_plugin(&plugin.plugin_type, &self.bin_dirs)?;
        invoke(Invocation {
            command,
            plugin: &plugin.plugin_type,
            binary: &binary,
            conf: rc,
            bin_dirs: &self.bin_dirs,
            stdin: Self::plugin_config(net, plugin, rc, prev),
            timeout: self.timeout,
        })
        .await
    }

    /// Attaches the container to `net`; the result is cached for CHECK and DEL. Before the first
    /// plugin runs, the attachment is recorded as pending (no result), so that a daemon killed
    /// mid-ADD finds it after a restart and can DEL it.
    pub async fn add(&self, net: &NetworkConfigList, rc: &RuntimeConf) -> Result<CniResult> {
        self.cache.save(&net.name, rc, &net.raw, &Value::Null)?;
        let mut prev: Option<Value> = None;
        for plugin in &net.plugins {
            let out = match self.call("ADD", net, plugin, Some(rc), prev.as_ref()).await {
                Ok(out) => out,
                Err(e) => return Err(self.undo_add(net, rc, prev.as_ref(), e).await),
            };
            let parsed: Value = match serde_json::from_slice(&out) {
                Ok(v) => v,
                Err(err) => {
                    let e = CniError::BadOutput {
                        plugin: plugin.plugin_type.clone(),
                        command: "ADD".into(),
                        detail: err.to_string(),
                    };
                    return Err(self.undo_add(net, rc, prev.as_ref(), e).await);
                }
            };
            prev = Some(parsed);
        }
        let raw = prev.unwrap_or_else(|| json!({ "cniVersion": net.cni_version }));
        let result = match CniResult::parse(&raw) {
            Ok(r) => r,
            Err(detail) => {
                let e = CniError::BadOutput {
                    plugin: net.plugins.last().map(|p| p.plugin_type.clone()).unwrap_or_default(),
                    command: "ADD".into(),
                    detail,
                };
                return Err(self.undo_add(net, rc, Some(&raw), e).await);
            }
        };
        if let Err(e) = self.cache.save(&net.name, rc, &net.raw, &raw) {
            return Err(self.undo_add(net, rc, Some(&raw), e).await);
        }
        Ok(result)
    }

    /// Undoes a half-done ADD (DEL through the whole list) and returns the ADD's error; the
    /// pending record stays if the DEL failed, for a later DEL or GC.
    async fn undo_add(
        &self,
        net: &NetworkConfigList,
        rc: &RuntimeConf,
        prev: Option<&Value>,
        error: CniError,
    ) -> CniError {
        match self.del_with(net, rc, prev).await {
            Ok(()) => {
                let _ = self.cache.remove(&net.name, &rc.container_id, &rc.ifname);
            }
            Err(e) => {
                tracing::warn!(network = %net.name, container = %rc.container_id, error = %e, "cleaning up a failed CNI ADD failed too")
            }
        }
        error
    }

    /// Detaches the container: DEL through the plugins in reverse order with the cached result;
    /// the cache entry goes once every plugin agreed. Tolerates what is already gone.
    pub async fn del(&self, net: &NetworkConfigList, rc: &RuntimeConf) -> Result<()> {
        let cached = self.cache.load(&net.name, &rc.container_id, &rc.ifname)?;
        // A pending record (ADD interrupted) has no result: DEL goes without prevResult.
        self.del_with(net, rc, cached.as_ref().map(|c| &c.result).filter(|r| !r.is_null())).await?;
        self.cache.remove(&net.name, &rc.container_id, &rc.ifname)
    }

    /// DEL with the network configuration the ADD ran with, from the result cache: the conf
    /// dir may have changed since, or lost the network. Nothing cached means never attached,
    /// or already detached: no plugin runs, and the answer is `false`.
    pub async fn del_as_added(&self, network: &str, rc: &RuntimeConf) -> Result<bool> {
        let Some(cached) = self.cache.load(network, &rc.container_id, &rc.ifname)? else {
            return Ok(false);
        };
        let net = NetworkConfigList::from_cache(&cached)?;
        self.del(&net, rc).await.map(|()| true)
    }

    /// Every plugin gets its DEL even when an earlier one fails (a broken plugin must not keep
    /// the others from freeing what they hold); the first error is returned.
    async fn del_with(
        &self,
        net: &NetworkConfigList,
        rc: &RuntimeConf,
        prev: Option<&Value>,
    ) -> Result<()> {
        let mut first_error = None;
        for plugin in net.plugins.iter().rev() {
            if let Err(e) = self.call("DEL", net, plugin, Some(rc), prev).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Asks every plugin whether the attachment is still as ADD made it (spec ≥ 0.4.0).
    pub async fn check(&self, net: &NetworkConfigList, rc: &RuntimeConf) -> Result<()> {
        if net.disable_check || !at_least(&net.cni_version, 0, 4) {
            return Ok(());
        }
        let key = format!("{}-{}-{}", net.name, rc.container_id, rc.ifname);
        let cached = self
            .cache
            .load(&net.name, &rc.container_id, &rc.ifname)?
            .filter(|c| !c.result.is_null())
            .ok_or(CniError::NotCached(key))?;
        for plugin in &net.plugins {
            self.call("CHECK", net, plugin, Some(rc), Some(&cached.result)).await?;
        }
        Ok(())
    }

    /// The spec versions a plugin supports.
    pub async fn versions(
        &self,
        net: &NetworkConfigList,
        plugin: &PluginConfig,
    ) -> Result<Vec<String>> {
        let out = self.call("VERSION", net, plugin, None, None).await?;
        let v: Value = serde_json::from_slice(&out).map_err(|e| CniError::BadOutput {
            plugin: plugin.plugin_type.clone(),
            command: "VERSION".into(),
            detail: e.to_string(),
        })?;
        Ok(v["supportedVersions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect())
    }

    /// Whether every plugin of the list is ready for ADDs (spec ≥ 1.1; earlier lists are ready).
    pub async fn status(&self, net: &NetworkConfigList) -> Result<()> {
        if !at_least(&net.cni_version, 1, 1) {
            return Ok(());
        }
        for plugin in &net.plugins {
            self.call("STATUS", net, plugin, None, None).await?;
        }
        Ok(())
    }

    /// Lets plugins free what belongs to attachments not in `valid` (container ID, interface),
    /// and drops their cache entries (spec ≥ 1.1 for the plugins; the cache either way).
    pub async fn gc(&self, net: &NetworkConfigList, valid: &[(String, String)]) -> Result<()> {
        let is_valid = |c: &str, i: &str| valid.iter().any(|(vc, vi)| vc == c && vi == i);
        if at_least(&net.cni_version, 1, 1) {
            let attachments: Vec<Value> =
                valid.iter().map(|(c, i)| json!({ "containerID": c, "ifname": i })).collect();
            for plugin in &net.plugins {
                let mut p = plugin.clone();
                p.raw["cni.dev/valid-attachments"] = json!(attachments);
                self.call("GC", net, &p, None, None).await?;
            }
        }
        for stale in self
            .cache
            .list()
            .into_iter()
            .filter(|a| a.network_name == net.name && !is_valid(&a.container_id, &a.if_name))
        {
            self.cache.remove(&net.name, &stale.container_id, &stale.if_name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
