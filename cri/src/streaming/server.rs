//! The HTTP/1.1 server that clients of Exec, Attach and PortForward URLs connect to. A path is
//! `/<exec|attach|portforward>/<token>`; a token that is unknown, used, expired or of another
//! kind gets 404. The connection is then upgraded to the transport the client asks for.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::StreamRequest;
use crate::context::Context;

/// Binds `[streaming]`'s address and port (with TLS if a certificate is configured), records
/// the server's URL and serves in the background; returns the address bound (the port may
/// have been 0).
pub async fn start(ctx: Arc<Context>) -> std::io::Result<SocketAddr> {
    let s = &ctx.config.streaming;
    let ip: IpAddr = s.address.parse().map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{:?}: {e}", s.address))
    })?;
    let tls = if s.tls_cert_file.as_os_str().is_empty() {
        None
    } else {
        Some(super::tls::acceptor(&s.tls_cert_file, &s.tls_key_file)?)
    };
    let listener = TcpListener::bind((ip, s.port)).await?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    ctx.streams.set_base_url(format!("{scheme}://{local}"));
    tokio::spawn(accept(listener, tls, ctx));
    Ok(local)
}

async fn accept(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, ctx: Arc<Context>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "streaming server: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (ctx, tls) = (ctx.clone(), tls.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(ctx.clone(), req));
            let served = match tls {
                None => {
                    http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await
                }
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => {
                        http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .with_upgrades()
                            .await
                    }
                    Err(e) => return tracing::debug!(error = %e, "TLS handshake failed"),
                },
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "streaming connection ended");
            }
        });
    }
}

/// A plain-text answer with `code` (refusals before any upgrade).
pub(super) fn reply(code: StatusCode, text: &str) -> Response<String> {
    let mut r = Response::new(format!("{text}\n"));
    *r.status_mut() = code;
    r
}

/// The pending request a path names, if its token is valid for that kind.
fn pending(ctx: &Context, path: &str) -> Option<StreamRequest> {
    let (kind, token) = path.trim_start_matches('/').split_once('/')?;
    ctx.streams.tokens.take(token).filter(|p| p.kind() == kind)
}

async fn handle(ctx: Arc<Context>, req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    let Some(pending) = pending(&ctx, req.uri().path()) else {
        return Ok(reply(StatusCode::NOT_FOUND, "unknown, used or expired streaming token"));
    };
    let protocol = req
        .headers()
        .get(hyper::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    tracing::info!(kind = pending.kind(), upgrade = %protocol, "streaming request");
    if super::websocket::is_upgrade(&req) {
        return Ok(super::websocket::serve(ctx, req, pending));
    }
    if super::spdy_command::is_upgrade(&req) {
        return Ok(match pending {
            StreamRequest::PortForward(pf) => super::spdy_forward::serve(ctx, req, pf),
            other => super::spdy_command::serve(ctx, req, other),
        });
    }
    Ok(reply(StatusCode::BAD_REQUEST, "upgrade the connection to SPDY/3.1 or WebSocket"))
}
