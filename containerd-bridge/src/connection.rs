use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use containerd_client::services::v1::{
    containers_client::ContainersClient, content_client::ContentClient, diff_client::DiffClient,
    images_client::ImagesClient, introspection_client::IntrospectionClient,
    leases_client::LeasesClient, namespaces_client::NamespacesClient,
    snapshots::snapshots_client::SnapshotsClient, tasks_client::TasksClient,
    version_client::VersionClient,
};
use hyper_util::rt::TokioIo;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Status};

use crate::error::{BridgeError, Result};
use crate::lease::Lease;

/// Where containerd is and which of its namespaces and snapshotter cricket uses.
#[derive(Debug, Clone)]
pub struct ContainerdConfig {
    pub address: PathBuf,
    pub namespace: String,
    pub snapshotter: String,
}

/// A handle on containerd. Cheap to clone; the underlying channel connects lazily and
/// reconnects by itself, so containerd may be down or restart at any time.
#[derive(Clone)]
pub struct Containerd {
    channel: Channel,
    namespace: AsciiMetadataValue,
    config: Arc<ContainerdConfig>,
    pub(crate) task_deletes: Arc<crate::task_delete_locks::TaskDeleteLocks>,
}

pub(crate) type Svc = InterceptedService<Channel, Scope>;

/// The gRPC metadata every namespaced call carries: the namespace and, during multi-step
/// writes, the lease that protects half-made objects from containerd's GC.
#[derive(Clone)]
pub(crate) struct Scope {
    namespace: AsciiMetadataValue,
    lease: Option<AsciiMetadataValue>,
}

impl tonic::service::Interceptor for Scope {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let md = req.metadata_mut();
        md.insert("containerd-namespace", self.namespace.clone());
        if let Some(lease) = &self.lease {
            md.insert("containerd-lease", lease.clone());
        }
        Ok(req)
    }
}

impl Containerd {
    /// Prepares a connection; nothing is dialled until the first call.
    pub fn new(config: ContainerdConfig) -> Result<Self> {
        let namespace = MetadataValue::try_from(config.namespace.as_str()).map_err(|e| {
            BridgeError::Invalid { op: "namespace", detail: format!("{:?}: {e}", config.namespace) }
        })?;
        let path = config.address.clone();
        let channel = Endpoint::from_static("http://containerd.invalid")
            .connect_timeout(Duration::from_secs(2))
            .connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    Ok::<_, std::io::Error>(TokioIo::new(
                        tokio::net::UnixStream::connect(path).await?,
                    ))
                }
            }));
        let task_deletes = Arc::new(crate::task_delete_locks::TaskDeleteLocks::new());
        Ok(Containerd { channel, namespace, config: Arc::new(config), task_deletes })
    }

    pub fn config(&self) -> &ContainerdConfig {
        &self.config
    }

    pub fn snapshotter(&self) -> &str {
        &self.config.snapshotter
    }

    pub(crate) fn scope(&self, lease: Option<&Lease>) -> Scope {
        Scope { namespace: self.namespace.clone(), lease: lease.map(Lease::metadata_value) }
    }

    pub(crate) fn content(&self, lease: Option<&Lease>) -> ContentClient<Svc> {
        ContentClient::with_interceptor(self.channel.clone(), self.scope(lease))
    }

    pub(crate) fn snapshots(&self, lease: Option<&Lease>) -> SnapshotsClient<Svc> {
        SnapshotsClient::with_interceptor(self.channel.clone(), self.scope(lease))
    }

    pub(crate) fn diff(&self, lease: Option<&Lease>) -> DiffClient<Svc> {
        DiffClient::with_interceptor(self.channel.clone(), self.scope(lease))
    }

    pub(crate) fn images(&self, lease: Option<&Lease>) -> ImagesClient<Svc> {
        ImagesClient::with_interceptor(self.channel.clone(), self.scope(lease))
    }

    pub(crate) fn leases(&self) -> LeasesClient<Svc> {
        LeasesClient::with_interceptor(self.channel.clone(), self.scope(None))
    }

    pub(crate) fn containers(&self, lease: Option<&Lease>) -> ContainersClient<Svc> {
        ContainersClient::with_interceptor(self.channel.clone(), self.scope(lease))
    }

    pub(crate) fn tasks(&self) -> TasksClient<Svc> {
        TasksClient::with_interceptor(self.channel.clone(), self.scope(None))
    }

    pub(crate) fn introspection(&self) -> IntrospectionClient<Svc> {
        IntrospectionClient::with_interceptor(self.channel.clone(), self.scope(None))
    }

    /// The bare channel, for services that take no namespace header (events).
    pub(crate) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub(crate) fn namespaces(&self) -> NamespacesClient<Channel> {
        NamespacesClient::new(self.channel.clone())
    }

    /// containerd's version string; fails fast (within `limit`) when it is unreachable.
    pub async fn version(&self, limit: Duration) -> Result<String> {
        let mut client = VersionClient::new(self.channel.clone());
        let call = client.version(());
        let reply = tokio::time::timeout(limit, call)
            .await
            .map_err(|_| BridgeError::Rpc {
                op: "version",
                status: Status::deadline_exceeded("no answer"),
            })?
            .map_err(BridgeError::rpc("version"))?;
        Ok(reply.into_inner().version)
    }
}
