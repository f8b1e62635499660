//! A tower layer around the gRPC services that counts and times every call by method and
//! status code. A failed call is answered "trailers only", so its code is in the response
//! headers; a call without one there succeeded (a streaming call is timed to its headers).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::Metrics;

#[derive(Clone)]
pub struct CallMetricsLayer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> CallMetrics<S> {
        CallMetrics { inner, metrics: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct CallMetrics<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

/// `/runtime.v1.RuntimeService/RunPodSandbox` → `RunPodSandbox`.
fn method_of(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn code_of(headers: &http::HeaderMap) -> tonic::Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
        .unwrap_or(tonic::Code::Ok)
}

impl<S, B, R> tower::Service<http::Request<B>> for CallMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = method_of(req.uri().path());
        let started = Instant::now();
        let reply = self.inner.call(req);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let reply = reply.await;
            let code = reply.as_ref().map_or(tonic::Code::Unknown, |r| code_of(r.headers()));
            metrics.record_call(&method, code, started.elapsed());
            reply
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_code() {
        assert_eq!(method_of("/runtime.v1.RuntimeService/RunPodSandbox"), "RunPodSandbox");
        let mut h = http::HeaderMap::new();
        assert_eq!(code_of(&h), tonic::Code::Ok);
        h.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(code_of(&h), tonic::Code::NotFound);
    }
}
