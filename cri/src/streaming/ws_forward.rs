//! Port-forward over WebSocket (`portforward.k8s.io`, or its base64 variant): the ports come in
//! the `ports` query (else the request's), and each gets two channels, data (2i) and error
//! (2i+1), whose first server frame is the port number, little-endian. One connection per
//! port into the pod, relayed both ways until the pod closes it; the WebSocket closes when
//! every port's connection has.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use k8s_cri::v1::PortForwardRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::remote_command::StatusFormat;
use super::server::reply;
use super::websocket::{accept_key, decode, encode, offered, switching, upgraded, Protocol};
use crate::context::Context;

const PROTOCOLS: [Protocol; 2] = [
    Protocol { name: "portforward.k8s.io", base64: false, close_channel: false, status: StatusFormat::Text },
    Protocol { name: "base64.portforward.k8s.io", base64: true, close_channel: false, status: StatusFormat::Text },
];

/// The ports of `?ports=80,8080`, else those of the request.
fn ports(req: &Request<Incoming>, pf: &PortForwardRequest) -> Result<Vec<u16>, String> {
    let query = req.uri().query().unwrap_or_default();
    let listed = query.split('&').filter_map(|kv| kv.strip_prefix("ports=")).flat_map(|v| v.split(',')).filter(|p| !p.is_empty());
    let from_query: Result<Vec<u16>, String> = listed.map(|p| p.parse().map_err(|_| format!("port {p:?}"))).collect();
    let from_query = from_query?;
    if !from_query.is_empty() {
        return Ok(from_query);
    }
    pf.port.iter().map(|p| u16::try_from(*p).map_err(|_| format!("port {p}"))).collect()
}

pub fn serve(ctx: std::sync::Arc<Context>, mut req: Request<Incoming>, pf: PortForwardRequest) -> Response<String> {
    let offered = offered(&req);
    let Some(protocol) = PROTOCOLS.into_iter().find(|p| offered.split(',').any(|o| o.trim() == p.name)) else {
        return reply(StatusCode::BAD_REQUEST, &format!("port-forward speaks portforward.k8s.io; offered {offered:?}"));
    };
    let ports = match ports(&req, &pf) {
        Ok(p) if !p.is_empty() && p.len() <= 127 => p,
        Ok(_) => return reply(StatusCode::BAD_REQUEST, "no ports (or too many) to forward"),
        Err(e) => return reply(StatusCode::BAD_REQUEST, &format!("bad {e}")),
    };
    let Some(key) = accept_key(&req) else { return reply(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key") };
    let Some(sandbox) = ctx.sandboxes.get(&pf.pod_sandbox_id) else { return reply(StatusCode::NOT_FOUND, "the pod sandbox is gone") };
    let netns = sandbox.meta.netns.clone();
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Some(ws) = upgraded(upgrade).await {
            run(ws, protocol, netns, ports, ctx.config.streaming.stream_idle_timeout).await;
        }
    });
    switching(&key, protocol.name)
}

async fn run<S>(ws: tokio_tungstenite::WebSocketStream<S>, protocol: Protocol, netns: String, ports: Vec<u16>, idle_limit: std::time::Duration)
where
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
    let reader = async move {
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
    };
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
        _ = reader => {}
        _ = writer => {}
        _ = activity.idle_for(idle_limit) => tracing::info!("port-forward idle too long; closing it"),
    }
    let _ = sink.send(tokio_tungstenite::tungstenite::Message::Close(None)).await;
}

async fn forward(netns: String, port: u16, data: u8, error: u8, mut from_client: mpsc::Receiver<Bytes>, out: mpsc::Sender<(u8, Bytes)>) {
    let stream = match super::netns_dial::dial(&netns, port).await {
        Ok(s) => s,
        Err(e) => {
            let _ = out.send((error, Bytes::from(format!("error forwarding port {port} to pod: {e}")))).await;
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
