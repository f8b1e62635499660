use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use containerd_client::services::v1::{
    AddResourceRequest, CreateRequest, DeleteRequest, ListRequest, Resource,
};
use tonic::metadata::AsciiMetadataValue;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};
use crate::gc_labels::LEASE_EXPIRE;

/// A containerd lease: content and snapshots made under it survive GC until it is deleted.
/// It expires by itself, so a crash in the middle of a write leaks nothing for long.
#[derive(Debug, Clone)]
pub struct Lease {
    id: String,
    value: AsciiMetadataValue,
}

impl Lease {
    /// The handle of the existing lease `id`.
    pub fn existing(id: &str) -> Result<Lease> {
        let value =
            id.parse().map_err(|_| BridgeError::Invalid { op: "lease", detail: id.to_string() })?;
        Ok(Lease { id: id.to_string(), value })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn metadata_value(&self) -> AsciiMetadataValue {
        self.value.clone()
    }
}

impl Containerd {
    /// Creates a lease that containerd drops by itself after `ttl` if it is never deleted.
    pub async fn create_lease(&self, purpose: &str, ttl: std::time::Duration) -> Result<Lease> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();

        let id = format!("cricket-{purpose}-{}-{}", now.as_nanos(), std::process::id());
        let expire = humantime::format_rfc3339_seconds(SystemTime::now() + ttl).to_string();
        let labels = HashMap::from([(LEASE_EXPIRE.to_string(), expire)]);
        self.leases()
            .create(CreateRequest { id: id.clone(), labels })
            .await
            .map_err(BridgeError::rpc("create lease"))?;
        Lease::existing(&id)
    }

    /// Puts an existing object under `lease` too, so that it cannot be collected while this
    /// operation relies on it, even if whatever made it (another pull) fails and lets go.
    pub(crate) async fn lease_existing(&self, lease: &Lease, kind: &str, id: &str) -> Result<()> {
        let req = AddResourceRequest {
            id: lease.id.clone(),
            resource: Some(Resource { id: id.to_string(), r#type: kind.to_string() }),
        };
        match self.leases().add_resource(req).await.map_err(BridgeError::rpc("lease resource")) {
            Err(e) if !e.is_already_exists() => Err(e),
            _ => Ok(()),
        }
    }

    /// Deletes (synchronously) the leases an earlier cricket left behind when it died mid-way,
    /// so their half-written content goes now rather than at expiry. Leases carry the PID of
    /// the cricket that made them; those of `own_pid` are in use. Returns how many went.
    pub async fn delete_stale_leases(&self, own_pid: u32) -> Result<usize> {
        let reply = self
            .leases()
            .list(ListRequest { filters: vec![] })
            .await
            .map_err(BridgeError::rpc("list leases"))?;
        let own_suffix = format!("-{own_pid}");
        let stale = |id: &str| id.starts_with("cricket-") && !id.ends_with(&own_suffix);
        let mut deleted = 0;
        for lease in reply.into_inner().leases.into_iter().filter(|l| stale(&l.id)) {
            let req = DeleteRequest { id: lease.id.clone(), sync: true };
            match self.leases().delete(req).await.map_err(BridgeError::rpc("delete lease")) {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => deleted += 1,
            }
        }
        Ok(deleted)
    }

    /// Deletes a lease; what it protected becomes collectable unless something else refers to
    /// it. With `sync`, containerd collects it before answering.
    pub async fn delete_lease(&self, lease: &Lease, sync: bool) -> Result<()> {
        let req = DeleteRequest { id: lease.id.clone(), sync };
        match self.leases().delete(req).await.map_err(BridgeError::rpc("delete lease")) {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }
}
