//! The container store: every container with its immutable metadata and mutable status, and
//! the names reserved in each pod, all answered from memory.

use std::sync::Arc;

use crate::api::v1::{ContainerConfig, LinuxContainerResources};
use base64::Engine;
use prost::Message;
use serde::{Deserialize, Serialize};

/// What never changes after CreateContainer; persisted on the containerd container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerMetadata {
    pub id: String,
    pub sandbox_id: String,
    pub name: String,
    pub attempt: u32,
    /// The ContainerConfig, protobuf, base64.
    pub config: String,
    /// The image as the config named it, a name it is known by, and its ID (config digest).
    pub image_ref: String,
    pub image_name: String,
    pub image_id: String,
    /// The CRI log file (`log_directory`/`log_path`); empty for none.
    pub log_path: String,
    pub created_at_ns: i64,
    /// The identity the process runs as, resolved against the image at create.
    #[serde(default)]
    pub user: Option<UserIds>,
    /// The images mounted as volumes, and their views.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_volumes: Vec<crate::container::ImageVolume>,
    /// The signal StopContainer sends first, resolved at create from the config and the
    /// image (both fixed by then); 0 in records made before it was kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stop_signal: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIds {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Unknown,
}

/// What changes; persisted in `root_dir/containers/<id>/status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerStatus {
    pub state: ContainerState,
    pub pid: u32,
    pub started_at_ns: i64,
    pub finished_at_ns: i64,
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled` or `Unknown` once exited.
    pub reason: String,
    pub message: String,
    /// The resources in force after UpdateContainerResources: `LinuxContainerResources`,
    /// protobuf, base64; empty while they are the config's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resources: String,
    /// A StartContainer is under way (never persisted: a restart ends it).
    #[serde(skip)]
    pub starting: bool,
}

impl Container {
    /// The CRI list filters that ListContainers and ListContainerStats share: ID and pod ID
    /// prefixes (empty: any) and every selected label.
    pub fn matches(
        &self,
        id: &str,
        pod_sandbox_id: &str,
        labels: &std::collections::HashMap<String, String>,
    ) -> bool {
        self.meta.id.starts_with(id)
            && self.meta.sandbox_id.starts_with(pod_sandbox_id)
            && labels.iter().all(|(k, v)| self.config.labels.get(k) == Some(v))
    }

    /// The resources in force: the last update's, else the config's.
    pub fn resources(&self) -> Option<LinuxContainerResources> {
        let updated = base64::engine::general_purpose::STANDARD
            .decode(&self.status.resources)
            .ok()
            .filter(|b| !b.is_empty());
        match updated {
            Some(bytes) => LinuxContainerResources::decode(bytes.as_slice()).ok(),
            None => self.config.linux.as_ref().and_then(|l| l.resources.clone()),
        }
    }
}

impl ContainerStatus {
    pub fn created() -> ContainerStatus {
        ContainerStatus {
            state: ContainerState::Created,
            pid: 0,
            started_at_ns: 0,
            finished_at_ns: 0,
            exit_code: 0,
            reason: String::new(),
            message: String::new(),
            resources: String::new(),
            starting: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Container {
    pub meta: ContainerMetadata,
    pub config: Arc<ContainerConfig>,
    pub status: ContainerStatus,
}

/// The key a container name is reserved under: unique per pod and attempt.
pub fn name_key(sandbox_id: &str, name: &str, attempt: u32) -> String {
    format!("{name}_{sandbox_id}_{attempt}")
}

/// Containers by ID, with their reserved names.
pub type ContainerStore = super::records::Store<Container>;

impl super::records::Record for Container {
    fn id(&self) -> &str {
        &self.meta.id
    }
    fn created_at_ns(&self) -> i64 {
        self.meta.created_at_ns
    }
}

impl ContainerStore {
    /// Changes a container's status; returns the new one.
    pub fn update(
        &self,
        id: &str,
        f: impl FnOnce(&mut ContainerStatus),
    ) -> Option<ContainerStatus> {
        self.modify(id, |c| {
            f(&mut c.status);
            c.status.clone()
        })
    }

    /// The containers of one pod.
    pub fn in_sandbox(&self, sandbox_id: &str) -> Vec<Container> {
        self.select(|c| c.meta.sandbox_id == sandbox_id)
    }
}
