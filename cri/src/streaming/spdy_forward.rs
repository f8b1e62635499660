//! Port-forward over SPDY/3.1 (`portforward.k8s.io`): per forwarded connection the client
//! opens an error stream and a data stream sharing a `requestid` (in either order) and naming
//! the `port`. cricket connects to that port inside the pod (`netns_dial`) and relays both
//! ways: the client's FIN half-closes the pod side, the pod's end of file is a FIN on the data
//! stream. A failed connect is reported on the error stream. Many connections at once.

use std::collections::HashMap;

use crate::api::v1::PortForwardRequest;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::idle::Activity;
use super::server::reply;
use super::spdy::{header, Connection, Event, Writer};
use crate::context::Context;

const PROTOCOL: &str = "portforward.k8s.io";

pub fn serve(
    ctx: std::sync::Arc<Context>,
    mut req: Request<Incoming>,
    pf: PortForwardRequest,
) -> Response<String> {
    let offered = req
        .headers()
        .get_all("X-Stream-Protocol-Version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim() == PROTOCOL));
    if !offered {
        return reply(StatusCode::FORBIDDEN, &format!("port-forward speaks {PROTOCOL} only"));
    }
    let Some(sandbox) = ctx.sandboxes.get(&pf.pod_sandbox_id) else {
        return reply(StatusCode::NOT_FOUND, "the pod sandbox is gone");
    };
    let netns = sandbox.meta.netns.clone();
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                run(TokioIo::new(upgraded), netns, ctx.config.streaming.stream_idle_timeout).await
            }
            Err(e) => tracing::debug!(error = %e, "spdy upgrade failed"),
        }
    });
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    h.insert("X-Stream-Protocol-Version", HeaderValue::from_static(PROTOCOL));
    r
}

/// The two streams of one forwarded connection, as they arrive.
#[derive(Default)]
struct Pair {
    data: Option<u32>,
    error: Option<u32>,
    port: u16,
}

pub(super) async fn run<S>(io: S, netns: String, idle_limit: std::time::Duration)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (conn, writer) = Connection::new(io);
    let mut events = conn.events();
    let activity = Activity::default();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    // Client data for each forwarded connection, by data stream ID.
    let mut routes: HashMap<u32, mpsc::Sender<Bytes>> = HashMap::new();
    loop {
        let event = tokio::select! {
            e = events.recv() => match e {
                Some(e) => e,
                None => break,
            },
            _ = activity.idle_for(idle_limit) => {
                tracing::info!("port-forward idle too long; closing it");
                break;
            }
        };
        activity.touch();
        match event {
            Event::Stream { id, headers, .. } => {
                let kind = header(&headers, "streamtype").unwrap_or_default().to_string();
                let port: u16 = header(&headers, "port").and_then(|p| p.parse().ok()).unwrap_or(0);
                let key = header(&headers, "requestid")
                    .map(str::to_string)
                    .unwrap_or_else(|| port.to_string());
                let pair = pairs.entry(key.clone()).or_default();
                pair.port = port;
                match kind.as_str() {
                    "data" => pair.data = Some(id),
                    "error" => pair.error = Some(id),
                    _ => continue,
                }
                if let (Some(data), Some(error)) = (pair.data, pair.error) {
                    let port = pair.port;
                    pairs.remove(&key);
                    let (tx, rx) = mpsc::channel(16);
                    routes.insert(data, tx);
                    tokio::spawn(forward(
                        netns.clone(),
                        port,
                        data,
                        error,
                        rx,
                        writer.clone(),
                        activity.clone(),
                    ));
                }
            }
            Event::Data { id, data, fin } => {
                if let Some(tx) = routes.get(&id) {
                    if !data.is_empty() && tx.send(data).await.is_err() {
                        routes.remove(&id);
                    }
                }
                if fin {
                    routes.remove(&id);
                }
            }
            Event::Reset { id } => {
                routes.remove(&id);
            }
        }
    }
    writer.go_away().await;
}

/// One forwarded connection.
async fn forward(
    netns: String,
    port: u16,
    data: u32,
    error: u32,
    mut from_client: mpsc::Receiver<Bytes>,
    writer: Writer,
    activity: Activity,
) {
    let stream = match super::netns_dial::dial(&netns, port).await {
        Ok(s) => s,
        Err(e) => {
            let message =
                format!("error forwarding port {port} to pod: connect to localhost:{port}: {e}");
            writer.data(error, Bytes::from(message), true).await;
            writer.data(data, Bytes::new(), true).await;
            return;
        }
    };
    let (mut pod_read, mut pod_write) = stream.into_split();
    let to_pod = async move {
        while let Some(chunk) = from_client.recv().await {
            if pod_write.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = pod_write.shutdown().await;
    };
    let to_client = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match pod_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    activity.touch();
                    if !writer.data(data, Bytes::copy_from_slice(&buf[..n]), false).await {
                        return;
                    }
                }
            }
        }
        writer.data(data, Bytes::new(), true).await;
    };
    tokio::join!(to_pod, to_client);
    writer.data(error, Bytes::new(), true).await;
}
