//! The CRI gRPC server on its unix socket.

mod deadline;
mod recovery_gate;
mod socket;

use std::future::Future;
use std::sync::Arc;

use crate::api::v1::image_service_server::ImageServiceServer;
use crate::api::v1::runtime_service_server::RuntimeServiceServer;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_stream::StreamExt;
use tonic::transport::Server;

pub use socket::{bind, SocketError, SocketGuard};

use crate::context::Context;
use crate::h2_authority::AuthorityFixStream;
use crate::image::ImageService;
use crate::runtime::RuntimeService;

/// kubelet raises its own limit to 16 MiB for large lists; accept as much.
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Serves RuntimeService and ImageService on `listener` until `shutdown` completes, then
/// finishes the calls in flight.
pub async fn serve(
    listener: UnixListener,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let incoming = UnixListenerStream::new(listener).map(|conn| conn.map(AuthorityFixStream::new));
    let runtime = RuntimeServiceServer::new(RuntimeService::new(ctx.clone()))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let calls = crate::daemon_metrics::CallMetricsLayer(ctx.metrics.clone());
    let gate = recovery_gate::RecoveryGateLayer(ctx.recovered.subscribe());
    let image = ImageServiceServer::new(ImageService::new(ctx))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    Server::builder()
        .layer(deadline::DeadlineLayer)
        .layer(calls)
        .layer(gate)
        .trace_fn(|req| tracing::info_span!("cri", rpc = %req.uri().path(), pod = tracing::field::Empty, container = tracing::field::Empty))
        .add_service(runtime)
        .add_service(image)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
