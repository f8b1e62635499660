//! Port-forward as kubectl and the API server tunnel it since Kubernetes 1.30: a SPDY/3.1
//! `portforward.k8s.io` connection carried in the binary messages of a WebSocket whose
//! subprotocol is `SPDY/3.1+portforward.k8s.io`. The messages' bytes, in order, are the
//! SPDY connection an HTTP upgrade would give, and get the same port-forward.

use std::time::Duration;

use crate::api::v1::PortForwardRequest;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::server::reply;
use super::websocket::{accept_key, normal_close, switching, upgraded};
use crate::context::Context;

pub const SUBPROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

/// How long the client may take to answer cricket's close once the forward has ended.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Whether the client's offered subprotocols (comma-separated) include the tunnel.
pub fn offered_by(offered: &str) -> bool {
    offered.split(',').any(|p| p.trim() == SUBPROTOCOL)
}

pub fn serve(
    ctx: std::sync::Arc<Context>,
    mut req: Request<Incoming>,
    pf: PortForwardRequest,
) -> Response<String> {
    let Some(key) = accept_key(&req) else {
        return reply(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key");
    };
    let Some(sandbox) = ctx.sandboxes.get(&pf.pod_sandbox_id) else {
        return reply(StatusCode::NOT_FOUND, "the pod sandbox is gone");
    };
    let netns = sandbox.meta.netns.clone();
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Some(ws) = upgraded(upgrade).await {
            let (spdy_side, ws_side) = tokio::io::duplex(64 * 1024);
            tokio::spawn(relay(ws, ws_side));
            super::spdy_forward::run(spdy_side, netns, ctx.config.streaming.stream_idle_timeout)
                .await;
        }
    });
    switching(&key, SUBPROTOCOL)
}

/// Moves bytes between the WebSocket's binary messages and `bytes`, both ways. The client's
/// close is the end of the input; the end of the output closes the WebSocket.
async fn relay<S>(ws: WebSocketStream<S>, bytes: DuplexStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let (mut from_spdy, mut to_spdy) = tokio::io::split(bytes);
    let mut inbound = tokio::spawn(async move {
        while let Some(Ok(message)) = source.next().await {
            match message {
                Message::Binary(data) if to_spdy.write_all(&data).await.is_err() => break,
                Message::Binary(_) => {}
                Message::Close(_) => break,
                // Pings are answered by the WebSocket library; text is not part of the tunnel.
                _ => {}
            }
        }
        let _ = to_spdy.shutdown().await;
    });
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from_spdy.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if sink.send(Message::Binary(Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = sink.send(normal_close()).await;
    if tokio::time::timeout(CLOSE_GRACE, &mut inbound).await.is_err() {
        tracing::debug!("the port-forward client did not answer the close");
        inbound.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunnel_is_recognised_among_other_offers() {
        assert!(offered_by("SPDY/3.1+portforward.k8s.io"));
        assert!(offered_by("v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io"));
        assert!(!offered_by("portforward.k8s.io"));
        assert!(!offered_by(""));
    }
}
