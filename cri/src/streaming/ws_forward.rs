//! Port-forward over WebSocket, as kubelet's streaming library serves it: the subprotocol
//! `v4.channel.k8s.io`, `v4.base64.channel.k8s.io` or none at all (binary), and, for older
//! clients of cricket's, `portforward.k8s.io` and its base64 variant. The ports come in the
//! `ports` query (else the request's), and each gets two channels, data (2i) and error
//! (2i+1), whose first server frame is the port number, little-endian. One connection per
//! port into the pod, relayed both ways until the pod closes it; the WebSocket closes when
//! every port's connection has. A client that offers SPDY tunnelled in the WebSocket gets
//! that (`ws_tunnel`).

use crate::api::v1::PortForwardRequest;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::remote_command::StatusFormat;
use super::server::reply;
use super::websocket::{
    accept_key, decode, encode, normal_close, offered, switching, upgraded, Protocol,
};
use crate::context::Context;

const fn protocol(name: &'static str, base64: bool) -> Protocol {
    Protocol { name, base64, close_channel: false, status: StatusFormat::Text }
}

/// In order of preference.
const PROTOCOLS: [Protocol; 4] = [
    protocol("v4.channel.k8s.io", false),
    protocol("v4.base64.channel.k8s.io", true),
    protocol("portforward.k8s.io", false),
    protocol("base64.portforward.k8s.io", true),
];

/// A client that offers no subprotocol speaks binary frames, and is answered without one.
const UNNAMED: Protocol = protocol("", false);

/// The first of ours the client offers; the unnamed one when it offers none.
fn negotiate(offered: &str) -> Option<Protocol> {
    let offered: Vec<&str> = offered.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
    if offered.is_empty() {
        return Some(UNNAMED);
    }
    PROTOCOLS.into_iter().find(|p| offered.contains(&p.name))
}

/// The ports of `?ports=80,8080`, else those of the request.
fn ports(req: &Request<Incoming>, pf: &PortForwardRequest) -> Result<Vec<u16>, String> {
    let query = req.uri().query().unwrap_or_default();
    let listed = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("ports="))
        .flat_map(|v| v.split(','))
        .filter(|p| !p.is_empty());
    let from_query: Result<Vec<u16>, String> =
        listed.map(|p| p.parse().map_err(|_| format!("port {p:?}"))).collect();
    let from_query = from_query?;
    if !from_query.is_empty() {
        return Ok(from_query);
    }
    pf.port.iter().map(|p| u16::try_from(*p).map_err(|_| format!("port {p}"))).collect()
}

pub fn serve(
    ctx: std::sync::Arc<Context>,
    mut req: Request<Incoming>,
    pf: PortForwardRequest,
) -> Response<String> {
    let offered = offered(&req);
    if super::ws_tunnel::offered_by(&offered) {
        return super::ws_tunnel::serve(ctx, req, pf);
    }
    let Some(protocol) = negotiate(&offered) else {
        let spoken: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
        return reply(
            StatusCode::BAD_REQUEST,
            &format!(
                "port-forward speaks {} or no subprotocol; offered {offered:?}",
                spoken.join(", ")
            ),
        );
    };
    let ports = match ports(&req, &pf) {
        Ok(p) if !p.is_empty() && p.len() <= 127 => p,
        Ok(_) => return reply(StatusCode::BAD_REQUEST, "no ports (or too many) to forward"),
        Err(e) => return reply(StatusCode::BAD_REQUEST, &format!("bad {e}")),
    };
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
            run(ws, protocol, netns, ports, ctx.config.streaming.stream_idle_timeout).await;
        }
    });
    switching(&key, protocol.name)
}

async fn run<S>(
    ws: tokio_tungstenite::WebSocketStream<S>,
    protocol: Protocol,
    netns: String,
    ports: Vec<u16>,
    idle_limit: std::time::Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<(u8, Bytes)>(16);
    let mut to_pod = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (data, error) = (2 * i as u8, 2 * i as u8 + 1);
        for channel in [data, error] {
            let _ = out_tx.send((channel, Bytes::copy_from_slice(&port.to_le_bytes()))).await;
        }
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        to_pod.push(tx);
        tokio::spawn(forward(netns.clone(), *port, data, error, rx, out_tx.clone()));
    }
    drop(out_tx);
    let activity = super::idle::Activity::default();
    let seen = activity.clone();
    let (reader_done_tx, reader_done) = tokio::sync::oneshot::channel::<()>();
    // Reads until the client's close (or its end), also after the forward ended: input left
    // unread when the socket closes would make the kernel reset the connection, and the
    // client lose cricket's close frame with it.
    let mut reader = tokio::spawn(async move {
        while let Some(Ok(message)) = source.next().await {
            seen.touch();
            let Some((channel, data)) = decode(protocol, message) else { continue };
            // Only data channels carry input; an error channel's input is ignored.
            if channel % 2 == 0 {
                if let Some(tx) = to_pod.get(usize::from(channel / 2)) {
                    let _ = tx.send(Bytes::from(data)).await;
                }
            }
        }
        drop(to_pod);
        let _ = reader_done_tx.send(());
    });
    let writer = async {
        while let Some((channel, data)) = out_rx.recv().await {
            activity.touch();
            if sink.send(encode(protocol, channel, &data)).await.is_err() {
                return;
            }
        }
    };
    // The session lasts as long as the client keeps the WebSocket open.
    tokio::select! {
        _ = reader_done => {}
        _ = writer => {}
        _ = activity.idle_for(idle_limit) => tracing::info!("port-forward idle too long; closing it"),
    }
    let _ = sink.send(normal_close()).await;
    if tokio::time::timeout(CLOSE_GRACE, &mut reader).await.is_err() {
        tracing::debug!("the port-forward client did not answer the close");
        reader.abort();
    }
}

/// How long the client may take to answer cricket's close once the forward has ended.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

async fn forward(
    netns: String,
    port: u16,
    data: u8,
    error: u8,
    mut from_client: mpsc::Receiver<Bytes>,
    out: mpsc::Sender<(u8, Bytes)>,
) {
    let stream = match super::netns_dial::dial(&netns, port).await {
        Ok(s) => s,
        Err(e) => {
            let _ = out
                .send((error, Bytes::from(format!("error forwarding port {port} to pod: {e}"))))
                .await;
            return;
        }
    };
    let (mut pod_read, mut pod_write) = stream.into_split();
    let up = tokio::spawn(async move {
        while let Some(chunk) = from_client.recv().await {
            if pod_write.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = pod_write.shutdown().await;
    });
    let down = async {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = pod_read.read(&mut buf).await {
            if n == 0 || out.send((data, Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                return;
            }
        }
    };
    // The pod's end of the connection ends the forward (a WebSocket has no half-close).
    down.await;
    up.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelets_subprotocols_none_and_the_older_names_are_spoken() {
        assert_eq!(negotiate("v4.channel.k8s.io").unwrap().name, "v4.channel.k8s.io");
        let b64 = negotiate("v4.base64.channel.k8s.io").unwrap();
        assert!(b64.base64 && b64.name == "v4.base64.channel.k8s.io");
        assert_eq!(negotiate("").unwrap(), UNNAMED);
        assert_eq!(negotiate(" , ").unwrap(), UNNAMED);
        assert_eq!(
            negotiate("base64.portforward.k8s.io, v4.channel.k8s.io").unwrap().name,
            "v4.channel.k8s.io"
        );
        assert_eq!(negotiate("portforward.k8s.io").unwrap().name, "portforward.k8s.io");
        assert!(negotiate("v5.channel.k8s.io").is_none());
    }
}
