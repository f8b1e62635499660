//! The streaming server behind Exec, Attach and PortForward: the RPCs only check the request
//! and answer a URL of this server with a single-use token (`tokens`); the client then opens
//! that URL and upgrades the connection (`server`).

mod attach;
mod idle;
mod netns_dial;
mod remote_command;
mod requests;
mod server;
mod spdy;
mod spdy_command;
mod spdy_forward;
mod tls;
mod tokens;
mod websocket;
mod ws_forward;
mod ws_tunnel;

use crate::error::Error;
use std::sync::OnceLock;

use crate::api::v1::{AttachRequest, ExecRequest, PortForwardRequest};

pub(crate) use requests::{attach, exec, port_forward};
pub use server::start;
/// The SPDY/3 header dictionary, for test clients.
pub use spdy::dictionary as spdy_dictionary;
pub use tokens::{TokenError, Tokens};

/// A checked request, waiting for its client to connect.
#[derive(Debug, Clone)]
pub enum StreamRequest {
    Exec(ExecRequest),
    Attach(AttachRequest),
    PortForward(PortForwardRequest),
}

impl StreamRequest {
    /// The URL path segment of this kind of request.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamRequest::Exec(_) => "exec",
            StreamRequest::Attach(_) => "attach",
            StreamRequest::PortForward(_) => "portforward",
        }
    }
}

/// The pending requests and where the server listens.
#[derive(Default)]
pub struct PendingStreams {
    pub tokens: Tokens<StreamRequest>,
    /// `http://<address>:<port>`, set once the server listens.
    base_url: OnceLock<String>,
}

impl PendingStreams {
    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    /// The URL a client opens for `req`.
    pub fn url(&self, req: StreamRequest) -> Result<String, Error> {
        let base = self
            .base_url
            .get()
            .ok_or_else(|| Error::unavailable("the streaming server is not listening yet"))?;
        let kind = req.kind();
        let token = self.tokens.insert(req).map_err(|e| match e {
            TokenError::Full => Error::resource_exhausted(e.to_string()),
            TokenError::Random(_) => Error::internal("a stream token", e),
        })?;
        Ok(format!("{base}/{kind}/{token}"))
    }
}
