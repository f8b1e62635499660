//! Exec and attach over SPDY/3.1 (kubelet's and crictl's default): the HTTP upgrade with the
//! remote-command protocol version, then one SPDY stream per channel, named by the
//! `streamtype` header. The session starts once every stream the request implies has been
//! opened (within the creation timeout); output goes out on its stream, the end is a status
//! on the error stream and FIN on each, then GOAWAY.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use super::remote_command::{
    self, SessionIo, StatusFormat, Target, TermSize, ERROR, RESIZE, STDERR, STDIN, STDOUT,
};
use super::server::reply;
use super::spdy::{header, Connection, Event, Writer};
use super::StreamRequest;
use crate::context::Context;

const PROTOCOL_HEADER: &str = "X-Stream-Protocol-Version";

/// Remote-command versions, newest first: (name, status format, has a resize stream).
const VERSIONS: [(&str, StatusFormat, bool); 4] = [
    ("v4.channel.k8s.io", StatusFormat::Json, true),
    ("v3.channel.k8s.io", StatusFormat::Text, true),
    ("v2.channel.k8s.io", StatusFormat::Text, false),
    ("channel.k8s.io", StatusFormat::Text, false),
];

pub fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("SPDY/3.1"))
}

/// Answers the upgrade and runs the session on the upgraded connection.
pub fn serve(
    ctx: std::sync::Arc<Context>,
    mut req: Request<Incoming>,
    pending: StreamRequest,
) -> Response<String> {
    let offered: Vec<String> = req
        .headers()
        .get_all(PROTOCOL_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .collect();
    let Some(&(name, format, resize)) =
        VERSIONS.iter().find(|(n, ..)| offered.iter().any(|o| o == n))
    else {
        return reply(
            StatusCode::FORBIDDEN,
            &format!("none of the offered protocol versions {offered:?} is spoken here"),
        );
    };
    let target = match pending {
        StreamRequest::Exec(r) => Target::Exec(r),
        StreamRequest::Attach(r) => Target::Attach(r),
        StreamRequest::PortForward(_) => {
            return reply(StatusCode::BAD_REQUEST, "port-forward speaks portforward.k8s.io")
        }
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => run(&ctx, TokioIo::new(upgraded), target, format, resize).await,
            Err(e) => tracing::debug!(error = %e, "spdy upgrade failed"),
        }
    });
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    h.insert(PROTOCOL_HEADER, HeaderValue::from_static(name));
    r
}

fn channel_of(streamtype: &str) -> Option<u8> {
    Some(match streamtype {
        "stdin" => STDIN,
        "stdout" => STDOUT,
        "stderr" => STDERR,
        "error" => ERROR,
        "resize" => RESIZE,
        _ => return None,
    })
}

/// The channels a request implies, each of which the client opens as a stream.
fn expected(target: &Target, resize: bool) -> Vec<u8> {
    let (stdin, stdout, stderr, tty) = target.streams();
    let mut v = vec![ERROR];
    v.extend(
        [(stdin, STDIN), (stdout, STDOUT), (stderr && !tty, STDERR), (tty && resize, RESIZE)]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c),
    );
    v
}

/// Client input that arrives before the session runs, or while it does.
#[derive(Default)]
struct Inbound {
    stdin: VecDeque<Bytes>,
    stdin_done: bool,
    resize: Vec<u8>,
}

impl Inbound {
    /// Whole resize messages so far (JSON objects back to back).
    fn sizes(&mut self) -> Vec<TermSize> {
        let mut it = serde_json::Deserializer::from_slice(&self.resize).into_iter::<TermSize>();
        let sizes: Vec<TermSize> = it.by_ref().map_while(Result::ok).collect();
        let used = it.byte_offset();
        self.resize.drain(..used);
        sizes
    }
}

async fn run<S>(ctx: &Context, io: S, req: Target, format: StatusFormat, resize: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (conn, writer) = Connection::new(io);
    let mut events = conn.events();
    let mut streams: HashMap<u8, u32> = HashMap::new();
    let mut inbound = Inbound::default();
    let want = expected(&req, resize);
    let opened = tokio::time::timeout(ctx.config.streaming.stream_creation_timeout, async {
        while !want.iter().all(|c| streams.contains_key(c)) {
            let Some(event) = events.recv().await else { return false };
            route(event, &mut streams, &mut inbound);
        }
        true
    })
    .await;
    if opened != Ok(true) {
        tracing::info!(container = %req.container_id(), "streaming client did not open its streams");
        writer.go_away().await;
        return;
    }
    session(ctx, req, format, writer, streams, inbound, events).await;
}

/// Files an event: a new stream under its channel, input into `inbound`.
fn route(event: Event, streams: &mut HashMap<u8, u32>, inbound: &mut Inbound) {
    let by_id = |streams: &HashMap<u8, u32>, id: u32| {
        streams.iter().find(|(_, s)| **s == id).map(|(c, _)| *c)
    };
    match event {
        Event::Stream { id, headers, fin } => {
            if let Some(c) = header(&headers, "streamtype").and_then(channel_of) {
                streams.insert(c, id);
                inbound.stdin_done |= c == STDIN && fin;
            }
        }
        Event::Data { id, data, fin } => match by_id(streams, id) {
            Some(STDIN) => {
                if !data.is_empty() {
                    inbound.stdin.push_back(data);
                }
                inbound.stdin_done |= fin;
            }
            Some(RESIZE) => inbound.resize.extend_from_slice(&data),
            _ => {}
        },
        Event::Reset { id } => inbound.stdin_done |= by_id(streams, id) == Some(STDIN),
    }
}

async fn session(
    ctx: &Context,
    req: Target,
    format: StatusFormat,
    writer: Writer,
    mut streams: HashMap<u8, u32>,
    mut inbound: Inbound,
    mut events: mpsc::Receiver<Event>,
) {
    let (stdin_tx, stdin_rx) = mpsc::channel::<Bytes>(16);
    let (resize_tx, resize_rx) = mpsc::channel::<TermSize>(16);
    let (out_tx, mut out_rx) = mpsc::channel::<(u8, Bytes)>(16);
    let io =
        SessionIo { stdin: req.streams().0.then_some(stdin_rx), resize: resize_rx, out: out_tx };
    let mut stdin = Some(stdin_tx);
    let exec = remote_command::run(ctx, req, io, format);
    tokio::pin!(exec);
    let mut exec_done = false;
    let activity = super::idle::Activity::default();
    let idle = activity.idle_for(ctx.config.streaming.stream_idle_timeout);
    tokio::pin!(idle);
    loop {
        // Hand over what came in, in order; the session's queues bound how far ahead it gets.
        while let Some(data) = inbound.stdin.front().cloned() {
            let Some(tx) = &stdin else { break };
            match tx.try_send(data) {
                Ok(()) => {
                    inbound.stdin.pop_front();
                }
                Err(mpsc::error::TrySendError::Full(_)) => break,
                Err(mpsc::error::TrySendError::Closed(_)) => stdin = None,
            }
        }
        if inbound.stdin_done && inbound.stdin.is_empty() {
            stdin = None;
        }
        for size in inbound.sizes() {
            let _ = resize_tx.try_send(size);
        }
        let input_backlog = !inbound.stdin.is_empty() && stdin.is_some();
        // With input waiting, wait for room in the session's queue rather than for more input.
        let backlog_tx = stdin.clone().filter(|_| input_backlog);
        tokio::select! {
            _ = &mut exec, if !exec_done => exec_done = true,
            _ = &mut idle => {
                tracing::info!("streaming session idle too long; closing it");
                break;
            }
            out = out_rx.recv() => match out {
                Some((channel, data)) => {
                    activity.touch();
                    if let Some(id) = streams.get(&channel) {
                        writer.data(*id, data, false).await;
                    }
                }
                None => break,
            },
            event = events.recv(), if !input_backlog => match event {
                Some(e) => {
                    activity.touch();
                    route(e, &mut streams, &mut inbound);
                }
                None => stdin = None,
            },
            permit = async { backlog_tx.as_ref().expect("a backlog has a sender").reserve().await }, if input_backlog => match permit {
                Ok(permit) => {
                    if let Some(data) = inbound.stdin.pop_front() {
                        permit.send(data);
                    }
                }
                Err(_) => stdin = None,
            },
        }
    }
    for channel in [STDOUT, STDERR, ERROR] {
        if let Some(id) = streams.get(&channel) {
            writer.data(*id, Bytes::new(), true).await;
        }
    }
    writer.go_away().await;
}
