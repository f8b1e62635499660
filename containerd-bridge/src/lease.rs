use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use containerd_client::services::v1::{CreateRequest, DeleteRequest};
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
        let value = id.parse().map_err(|_| BridgeError::Invalid { op: "create lease", detail: id.clone() })?;
        Ok(Lease { id, value })
    }

    /// Deletes a lease; what it protected becomes collectable unless something else refers to it.
    pub async fn delete_lease(&self, lease: &Lease) -> Result<()> {
        let req = DeleteRequest { id: lease.id.clone(), sync: false };
        match self.leases().delete(req).await.map_err(BridgeError::rpc("delete lease")) {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }
}
