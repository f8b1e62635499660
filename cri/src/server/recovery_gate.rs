//! A tower layer that holds back calls which read or change the stores until the first
//! recovery has loaded them: answered from half-loaded stores, a RemovePodSandbox would miss
//! containers not reloaded yet, and a list would tell kubelet that pods had vanished. Version,
//! Status and the runtime config are answered at once (kubelet asks Status to learn whether
//! the runtime is ready). A call still waiting after `LIMIT` is answered Unavailable.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;

const LIMIT: Duration = Duration::from_secs(30);

/// Methods that never wait.
const ALWAYS_ANSWERED: [&str; 4] =
    ["/Version", "/Status", "/RuntimeConfig", "/UpdateRuntimeConfig"];

#[derive(Clone)]
pub struct RecoveryGateLayer(pub watch::Receiver<bool>);

impl<S> tower::Layer<S> for RecoveryGateLayer {
    type Service = RecoveryGate<S>;

    fn layer(&self, inner: S) -> RecoveryGate<S> {
        RecoveryGate { inner, recovered: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct RecoveryGate<S> {
    inner: S,
    recovered: watch::Receiver<bool>,
}

fn waits(path: &str) -> bool {
    !ALWAYS_ANSWERED.iter().any(|m| path.ends_with(m))
}

impl<S, B, R> tower::Service<http::Request<B>> for RecoveryGate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if !waits(req.uri().path()) || *self.recovered.borrow() {
            return Box::pin(self.inner.call(req));
        }
        // The service that was polled ready serves this call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let mut recovered = self.recovered.clone();
        Box::pin(async move {
            let loaded =
                matches!(tokio::time::timeout(LIMIT, recovered.wait_for(|r| *r)).await, Ok(Ok(_)));
            if !loaded {
                return Ok(tonic::Status::unavailable(
                    "cricket is still loading its pods and containers from containerd",
                )
                .into_http());
            }
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_calls_wait() {
        assert!(!waits("/runtime.v1.RuntimeService/Status"));
        assert!(!waits("/runtime.v1.RuntimeService/Version"));
        assert!(waits("/runtime.v1.RuntimeService/RemovePodSandbox"));
        assert!(waits("/runtime.v1.RuntimeService/ListContainers"));
        assert!(waits("/runtime.v1.ImageService/ListImages"));
        assert!(waits("/runtime.v1.RuntimeService/PodSandboxStatus"), "not the same as /Status");
    }
}
