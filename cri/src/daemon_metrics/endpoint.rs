//! The `/metrics` HTTP endpoint (plain HTTP/1.1; meant for loopback or a node-local scraper).

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::Metrics;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn answer(metrics: &Metrics, req: &Request<Incoming>) -> Response<String> {
    let (code, body, kind) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, metrics.encode(), CONTENT_TYPE),
        (_, "/metrics") => (StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_string(), "text/plain"),
        _ => (StatusCode::NOT_FOUND, "cricket serves /metrics only\n".to_string(), "text/plain"),
    };
    let mut r = Response::new(body);
    *r.status_mut() = code;
    r.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(kind));
    r
}

/// Binds `address` and serves in the background; returns the bound address.
pub async fn serve(address: &str, metrics: Arc<Metrics>) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let reply = answer(&metrics, &req);
                    async move { Ok::<_, Infallible>(reply) }
                });
                if let Err(e) =
                    http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
                {
                    tracing::debug!(error = %e, "metrics endpoint: connection ended");
                }
            });
        }
    });
    Ok(bound)
}
