//! The sandbox store: every pod sandbox with its immutable metadata and mutable status, and
//! the reserved names (name, namespace, uid, attempt), all answered from memory.

use std::sync::Arc;

use crate::api::v1::PodSandboxConfig;
use serde::{Deserialize, Serialize};

/// What never changes after RunPodSandbox; persisted on the containerd container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxMetadata {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub attempt: u32,
    /// The PodSandboxConfig, protobuf, base64.
    pub config: String,
    pub runtime_handler: String,
    /// The pinned network namespace; empty for host network.
    pub netns: String,
    /// The pinned IPC and UTS namespaces of a pod without a pause; empty otherwise.
    #[serde(default)]
    pub ipcns: String,
    #[serde(default)]
    pub utsns: String,
    /// The pinned user namespace of a pod with its own; empty otherwise.
    #[serde(default)]
    pub userns: String,
    /// Whether the pod has a pause task (records from before pause-less pods all do).
    #[serde(default = "has_pause_by_default")]
    pub pause: bool,
    pub created_at_ns: i64,
}

fn has_pause_by_default() -> bool {
    true
}

impl Sandbox {
    /// The CRI list filters that ListPodSandbox and ListPodSandboxStats share: an ID prefix
    /// (empty: any) and every selected label.
    pub fn matches(&self, id: &str, labels: &std::collections::HashMap<String, String>) -> bool {
        self.meta.id.starts_with(id)
            && labels.iter().all(|(k, v)| self.config.labels.get(k) == Some(v))
    }
}

impl SandboxMetadata {
    /// Every namespace pin the pod owns.
    pub fn pins(&self) -> impl Iterator<Item = &str> {
        [self.netns.as_str(), self.ipcns.as_str(), self.utsns.as_str(), self.userns.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SandboxState {
    Ready,
    NotReady,
}

/// What changes; persisted in `root_dir/sandboxes/<id>/status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxStatus {
    pub state: SandboxState,
    pub pid: u32,
    /// Pod IPs, primary first.
    pub ips: Vec<String>,
    /// The network the pod was attached to (for DEL), empty for host network.
    pub network: String,
    pub cni_result: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct Sandbox {
    pub meta: SandboxMetadata,
    pub config: Arc<PodSandboxConfig>,
    pub status: SandboxStatus,
}

/// The key a sandbox name is reserved under.
pub fn name_key(name: &str, namespace: &str, uid: &str, attempt: u32) -> String {
    format!("{name}_{namespace}_{uid}_{attempt}")
}

/// Sandboxes by ID, with their reserved names.
pub type SandboxStore = super::records::Store<Sandbox>;

impl super::records::Record for Sandbox {
    fn id(&self) -> &str {
        &self.meta.id
    }
    fn created_at_ns(&self) -> i64 {
        self.meta.created_at_ns
    }
}

impl SandboxStore {
    /// Changes a sandbox's status; returns the new one.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut SandboxStatus)) -> Option<SandboxStatus> {
        self.modify(id, |s| {
            f(&mut s.status);
            s.status.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_from_before_pause_less_pods_has_a_pause() {
        let old = r#"{"id":"a","name":"n","namespace":"d","uid":"u","attempt":0,"config":"","runtime_handler":"","netns":"/run/x","created_at_ns":1}"#;
        let meta: SandboxMetadata = serde_json::from_str(old).unwrap();
        assert!(meta.pause);
        assert_eq!(meta.pins().collect::<Vec<_>>(), ["/run/x"]);
    }

    fn sandbox(id: &str) -> Sandbox {
        Sandbox {
            meta: SandboxMetadata {
                id: id.into(),
                name: "web".into(),
                namespace: "default".into(),
                uid: "u".into(),
                attempt: 0,
                config: String::new(),
                runtime_handler: String::new(),
                netns: String::new(),
                ipcns: String::new(),
                utsns: String::new(),
                userns: String::new(),
                pause: true,
                created_at_ns: 1,
            },
            config: Arc::new(PodSandboxConfig::default()),
            status: SandboxStatus {
                state: SandboxState::Ready,
                pid: 1,
                ips: vec![],
                network: String::new(),
                cni_result: None,
            },
        }
    }

    #[test]
    fn names_are_reserved_once_and_released_by_their_holder_only() {
        let store = SandboxStore::default();
        let key = name_key("web", "default", "u", 0);
        store.reserve_name(&key, "a").unwrap();
        store.reserve_name(&key, "a").unwrap();
        assert_eq!(store.reserve_name(&key, "b"), Err("a".to_string()));
        store.release_name(&key, "b");
        assert!(store.reserve_name(&key, "b").is_err());
        store.release_name(&key, "a");
        store.reserve_name(&key, "b").unwrap();
    }

    #[test]
    fn lookup_by_id_or_unique_prefix_and_status_updates() {
        let store = SandboxStore::default();
        store.insert(sandbox("abc123"));
        store.insert(sandbox("abd456"));
        assert_eq!(store.get("abc").unwrap().meta.id, "abc123");
        assert!(store.get("ab").is_none(), "ambiguous");
        assert!(store.get("").is_none());
        store.update("abc123", |s| s.state = SandboxState::NotReady);
        assert_eq!(store.get("abc123").unwrap().status.state, SandboxState::NotReady);
        assert!(store.remove("abc123").is_some());
        assert_eq!(store.list().len(), 1);
    }
}
