//! The WebSocket transport (`crictl --transport websocket`, kubelet's newer path): the
//! channel subprotocols, where each message's first byte (or, in the base64 variants, first
//! character) is the channel and the rest its data. `v5` adds channel 255 to close a stream
//! (the client's end of stdin).

use base64::Engine;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::remote_command::{self, SessionIo, StatusFormat, Target, TermSize, RESIZE, STDIN};
use super::server::reply;
use super::StreamRequest;
use crate::context::Context;

/// A channel subprotocol cricket speaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Protocol {
    pub(super) name: &'static str,
    pub(super) base64: bool,
    /// v5: channel 255 closes a stream.
    pub(super) close_channel: bool,
    pub(super) status: StatusFormat,
}

/// In order of preference.
const PROTOCOLS: [Protocol; 6] = [
    Protocol {
        name: "v5.channel.k8s.io",
        base64: false,
        close_channel: true,
        status: StatusFormat::Json,
    },
    Protocol {
        name: "v4.channel.k8s.io",
        base64: false,
        close_channel: false,
        status: StatusFormat::Json,
    },
    Protocol {
        name: "v5.base64.channel.k8s.io",
        base64: true,
        close_channel: true,
        status: StatusFormat::Json,
    },
    Protocol {
        name: "v4.base64.channel.k8s.io",
        base64: true,
        close_channel: false,
        status: StatusFormat::Json,
    },
    Protocol {
        name: "channel.k8s.io",
        base64: false,
        close_channel: false,
        status: StatusFormat::Text,
    },
    Protocol {
        name: "base64.channel.k8s.io",
        base64: true,
        close_channel: false,
        status: StatusFormat::Text,
    },
];

const CLOSE: u8 = 255;

pub fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The protocol to speak: the first of ours the client offers.
fn negotiate(offered: &str) -> Option<Protocol> {
    let offered: Vec<&str> = offered.split(',').map(str::trim).collect();
    PROTOCOLS.into_iter().find(|p| offered.contains(&p.name))
}

/// Answers the upgrade and runs the session on the upgraded connection.
pub fn serve(
    ctx: std::sync::Arc<Context>,
    mut req: Request<Incoming>,
    pending: StreamRequest,
) -> Response<String> {
    let target = match pending {
        StreamRequest::Exec(r) => Target::Exec(r),
        StreamRequest::Attach(r) => Target::Attach(r),
        StreamRequest::PortForward(pf) => return super::ws_forward::serve(ctx, req, pf),
    };
    let offered = offered(&req);
    let Some(protocol) = negotiate(&offered) else {
        return reply(
            StatusCode::BAD_REQUEST,
            &format!("none of the offered subprotocols {offered:?} is spoken here"),
        );
    };
    let Some(key) = accept_key(&req) else {
        return reply(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key");
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Some(ws) = upgraded(upgrade).await {
            run_session(&ctx, ws, protocol, target).await;
        }
    });
    switching(&key, protocol.name)
}

/// The subprotocols the client offers, as one list.
pub(super) fn offered(req: &Request<Incoming>) -> String {
    req.headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub(super) fn accept_key(req: &Request<Incoming>) -> Option<String> {
    req.headers().get(SEC_WEBSOCKET_KEY).map(|k| derive_accept_key(k.as_bytes()))
}

/// The connection, once hyper hands it over, as a server-side WebSocket.
pub(super) async fn upgraded(
    upgrade: hyper::upgrade::OnUpgrade,
) -> Option<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>> {
    match upgrade.await {
        Ok(upgraded) => {
            Some(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await)
        }
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade failed");
            None
        }
    }
}

/// The 101 answer; an empty `protocol` names none (the client offered none).
pub(super) fn switching(key: &str, protocol: &'static str) -> Response<String> {
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(key).expect("base64 is a valid header value"),
    );
    if !protocol.is_empty() {
        h.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol));
    }
    r
}

/// The close message of a session that ended as it should. A close without a code reads as
/// "no status" (1005) to kubelet's streaming clients, which report it as an error.
pub(super) fn normal_close() -> Message {
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
    Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() }))
}

/// A client message as (channel, data).
pub(super) fn decode(protocol: Protocol, message: Message) -> Option<(u8, Vec<u8>)> {
    match message {
        Message::Binary(data) if !protocol.base64 && !data.is_empty() => {
            Some((data[0], data[1..].to_vec()))
        }
        Message::Text(text) if protocol.base64 && !text.is_empty() => {
            let channel = text.as_bytes()[0].checked_sub(b'0')?;
            Some((
                channel,
                base64::engine::general_purpose::STANDARD.decode(&text.as_bytes()[1..]).ok()?,
            ))
        }
        _ => None,
    }
}

pub(super) fn encode(protocol: Protocol, channel: u8, data: &[u8]) -> Message {
    if protocol.base64 {
        let text = format!(
            "{}{}",
            (b'0' + channel) as char,
            base64::engine::general_purpose::STANDARD.encode(data)
        );
        return Message::Text(text.into());
    }
    let mut framed = Vec::with_capacity(data.len() + 1);
    framed.push(channel);
    framed.extend_from_slice(data);
    Message::Binary(framed.into())
}

async fn run_session<S>(ctx: &Context, ws: WebSocketStream<S>, protocol: Protocol, target: Target)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let (stdin_tx, stdin_rx) = mpsc::channel::<Bytes>(16);
    let (resize_tx, resize_rx) = mpsc::channel::<TermSize>(4);
    let (out_tx, mut out_rx) = mpsc::channel::<(u8, Bytes)>(16);
    let wants_stdin = target.streams().0;
    let activity = super::idle::Activity::default();
    let seen = activity.clone();
    let reader = tokio::spawn(async move {
        let mut stdin = wants_stdin.then_some(stdin_tx);
        while let Some(Ok(message)) = source.next().await {
            seen.touch();
            let Some((channel, data)) = decode(protocol, message) else { continue };
            match channel {
                STDIN => {
                    if let Some(tx) = &stdin {
                        if tx.send(Bytes::from(data)).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                RESIZE => {
                    if let Ok(size) = serde_json::from_slice(&data) {
                        let _ = resize_tx.send(size).await;
                    }
                }
                CLOSE if protocol.close_channel && data.first() == Some(&STDIN) => stdin = None,
                _ => {}
            }
        }
    });
    let writer = async {
        while let Some((channel, data)) = out_rx.recv().await {
            activity.touch();
            if sink.send(encode(protocol, channel, &data)).await.is_err() {
                return;
            }
        }
    };
    let io = SessionIo { stdin: wants_stdin.then_some(stdin_rx), resize: resize_rx, out: out_tx };
    let session =
        async { tokio::join!(remote_command::run(ctx, target, io, protocol.status), writer) };
    tokio::select! {
        _ = session => {}
        _ = activity.idle_for(ctx.config.streaming.stream_idle_timeout) => tracing::info!("streaming session idle too long; closing it"),
    }
    let _ = sink.send(normal_close()).await;
    reader.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_offered_protocol_wins_and_frames_round_trip() {
        assert_eq!(
            negotiate("channel.k8s.io, v4.channel.k8s.io").unwrap().name,
            "v4.channel.k8s.io"
        );
        assert_eq!(
            negotiate("v5.channel.k8s.io,v4.channel.k8s.io").unwrap().name,
            "v5.channel.k8s.io"
        );
        assert!(negotiate("v9.example").is_none());
        for p in PROTOCOLS {
            assert_eq!(decode(p, encode(p, 1, b"hi")), Some((1, b"hi".to_vec())), "{}", p.name);
        }
    }
}
