//! containerd containers: the record (spec, runtime, labels, extensions) and its rootfs
//! snapshot. Its ID is the CRI ID, so `ctr` and `crictl` always agree.

use std::collections::HashMap;

use containerd_client::services::v1::container::Runtime;
use containerd_client::services::v1::snapshots::{
    MountsRequest, PrepareSnapshotRequest, RemoveSnapshotRequest, ViewSnapshotRequest,
};
use containerd_client::services::v1::{
    Container, CreateContainerRequest, DeleteContainerRequest, GetContainerRequest,
    ListContainersRequest, UpdateContainerRequest,
};
use containerd_client::types::Mount;
use prost_types::Any;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};
use crate::lease::Lease;

/// The type URL containerd expects for an OCI runtime spec.
const SPEC_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/// The runc shim's options (`containerd.runc.v1.Options`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuncOptions {
    #[prost(bool, tag = "1")]
    pub no_pivot_root: bool,
    #[prost(bool, tag = "2")]
    pub no_new_keyring: bool,
    #[prost(string, tag = "3")]
    pub shim_cgroup: String,
    #[prost(uint32, tag = "4")]
    pub io_uid: u32,
    #[prost(uint32, tag = "5")]
    pub io_gid: u32,
    #[prost(string, tag = "6")]
    pub binary_name: String,
    #[prost(string, tag = "7")]
    pub root: String,
    #[prost(bool, tag = "9")]
    pub systemd_cgroup: bool,
    /// A CRIU dump the task's process is restored from instead of started.
    #[prost(string, tag = "10")]
    pub criu_image_path: String,
    #[prost(string, tag = "11")]
    pub criu_work_path: String,
}

impl RuncOptions {
    /// The options in a container's runtime record, if they are the runc shim's.
    pub fn from_any(any: &Any) -> Option<RuncOptions> {
        let runc = any.type_url.trim_start_matches('/').ends_with("containerd.runc.v1.Options");
        runc.then(|| prost::Message::decode(any.value.as_slice()).ok()).flatten()
    }

    pub fn to_any(&self) -> Any {
        Any {
            type_url: "containerd.runc.v1.Options".into(),
            value: prost::Message::encode_to_vec(self),
        }
    }
}

/// A container to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContainer {
    pub id: String,
    pub labels: HashMap<String, String>,
    pub image: String,
    /// The shim, e.g. `io.containerd.runc.v2`, and its options.
    pub runtime_type: String,
    pub runtime_options: Option<Any>,
    /// The OCI runtime spec, JSON.
    pub spec: Vec<u8>,
    /// The rootfs snapshot (already prepared in the configured snapshotter).
    pub snapshot_key: String,
    pub extensions: HashMap<String, Any>,
}

impl Containerd {
    /// Prepares a writable rootfs snapshot `key` on top of `parent` (an image's top chain ID),
    /// with `labels` (garbage-collection references to what the container also needs).
    pub async fn prepare_rootfs(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
        labels: HashMap<String, String>,
    ) -> Result<Vec<Mount>> {
        let req = PrepareSnapshotRequest {
            snapshotter: self.snapshotter().into(),
            key: key.into(),
            parent: parent.into(),
            labels,
        };
        Ok(self
            .snapshots(Some(lease))
            .prepare(req)
            .await
            .map_err(BridgeError::rpc("snapshot prepare"))?
            .into_inner()
            .mounts)
    }

    /// A read-only view `key` of `parent` (an image's top chain ID), held by `lease` until
    /// something references it; its mounts.
    pub async fn view_snapshot(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
    ) -> Result<Vec<Mount>> {
        let req = ViewSnapshotRequest {
            snapshotter: self.snapshotter().into(),
            key: key.into(),
            parent: parent.into(),
            labels: Default::default(),
        };
        Ok(self
            .snapshots(Some(lease))
            .view(req)
            .await
            .map_err(BridgeError::rpc("snapshot view"))?
            .into_inner()
            .mounts)
    }

    /// The mounts of an existing snapshot (to create a task again after a restart).
    pub async fn rootfs_mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let req = MountsRequest { snapshotter: self.snapshotter().into(), key: key.into() };
        Ok(self
            .snapshots(None)
            .mounts(req)
            .await
            .map_err(BridgeError::rpc("snapshot mounts"))?
            .into_inner()
            .mounts)
    }

    /// Removes a snapshot; absent is fine.
    pub async fn remove_snapshot(&self, key: &str) -> Result<()> {
        let req = RemoveSnapshotRequest { snapshotter: self.snapshotter().into(), key: key.into() };
        match self.snapshots(None).remove(req).await.map_err(BridgeError::rpc("snapshot remove")) {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }

    /// Creates the record; `lease` protects a snapshot made for it until the record exists.
    pub async fn create_container(&self, lease: Option<&Lease>, c: &NewContainer) -> Result<()> {
        let container = Container {
            id: c.id.clone(),
            labels: c.labels.clone(),
            image: c.image.clone(),
            runtime: Some(Runtime {
                name: c.runtime_type.clone(),
                options: c.runtime_options.clone(),
            }),
            spec: Some(Any { type_url: SPEC_TYPE_URL.into(), value: c.spec.clone() }),
            // A record without a rootfs (a pod with no pause) names no snapshotter.
            snapshotter: if c.snapshot_key.is_empty() {
                String::new()
            } else {
                self.snapshotter().into()
            },
            snapshot_key: c.snapshot_key.clone(),
            created_at: None,
            updated_at: None,
            extensions: c.extensions.clone(),
            sandbox: String::new(),
        };
        let req = CreateContainerRequest { container: Some(container) };
        self.containers(lease).create(req).await.map_err(BridgeError::rpc("container create"))?;
        Ok(())
    }

    /// The container record, or `None`.
    pub async fn get_container(&self, id: &str) -> Result<Option<Container>> {
        match self
            .containers(None)
            .get(GetContainerRequest { id: id.into() })
            .await
            .map_err(BridgeError::rpc("container get"))
        {
            Ok(reply) => Ok(reply.into_inner().container),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the OCI spec (JSON) of the container record.
    pub async fn update_container_spec(&self, id: &str, spec: Vec<u8>) -> Result<()> {
        let container = Container {
            id: id.into(),
            spec: Some(Any { type_url: SPEC_TYPE_URL.into(), value: spec }),
            ..Default::default()
        };
        let mask = prost_types::FieldMask { paths: vec!["spec".into()] };
        let req = UpdateContainerRequest { container: Some(container), update_mask: Some(mask) };
        self.containers(None).update(req).await.map_err(BridgeError::rpc("container update"))?;
        Ok(())
    }

    /// Containers matching containerd `filters` (e.g. `labels."io.cricket.kind"==sandbox`).
    pub async fn list_containers(&self, filters: Vec<String>) -> Result<Vec<Container>> {
        let reply = self
            .containers(None)
            .list(ListContainersRequest { filters })
            .await
            .map_err(BridgeError::rpc("container list"))?;
        Ok(reply.into_inner().containers)
    }

    /// Deletes the container record; absent is fine. Refused while the container has a task:
    /// containerd's API would delete the record and leave the task's shim running with nothing
    /// left to find it by.
    pub async fn delete_container(&self, id: &str) -> Result<()> {
        if self.task_state(id).await?.is_some() {
            return Err(BridgeError::Invalid {
                op: "container delete",
                detail: format!("container {id} still has a task"),
            });
        }
        match self
            .containers(None)
            .delete(DeleteContainerRequest { id: id.into() })
            .await
            .map_err(BridgeError::rpc("container delete"))
        {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }
}
