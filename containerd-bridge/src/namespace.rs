use containerd_client::services::v1::{CreateNamespaceRequest, Namespace};

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};

impl Containerd {
    /// Creates cricket's namespace if it does not exist yet.
    pub async fn ensure_namespace(&self) -> Result<()> {
        let req = CreateNamespaceRequest {
            namespace: Some(Namespace {
                name: self.config().namespace.clone(),
                labels: Default::default(),
            }),
        };
        match self.namespaces().create(req).await.map_err(BridgeError::rpc("create namespace")) {
            Ok(_) => Ok(()),
            Err(e) if e.is_already_exists() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
