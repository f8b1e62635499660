use oci_client::errors::{OciDistributionError, OciErrorCode};

/// Why a pull failed, in the categories a CRI client must be able to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("invalid image reference {reference:?}: {detail}")]
    InvalidReference { reference: String, detail: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    DataLoss(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("no progress for {0:?}")]
    Stalled(std::time::Duration),
    #[error(transparent)]
    Containerd(#[from] crate::BridgeError),
    #[error("{0}")]
    Other(String),
}

impl PullError {
    /// Classifies a registry client error; `what` says what was being fetched.
    pub(crate) fn from_registry(what: &str, e: OciDistributionError) -> PullError {
        let msg = format!("{what}: {e}");
        match &e {
            OciDistributionError::AuthenticationFailure(_)
            | OciDistributionError::UnauthorizedError { .. } => PullError::Unauthenticated(msg),
            OciDistributionError::ImageManifestNotFoundError(_) => PullError::NotFound(msg),
            OciDistributionError::DigestError(_) => PullError::DataLoss(msg),
            OciDistributionError::RequestError(r)
                if r.is_connect() || r.is_timeout() || r.is_request() =>
            {
                PullError::Unavailable(format!("{what}: {}", transport_failure(r)))
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                match codes.first() {
                    Some(
                        OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound,
                    ) => PullError::NotFound(msg),
                    Some(OciErrorCode::Unauthorized) => PullError::Unauthenticated(msg),
                    Some(OciErrorCode::Denied) => PullError::PermissionDenied(msg),
                    Some(OciErrorCode::DigestInvalid | OciErrorCode::SizeInvalid) => {
                        PullError::DataLoss(msg)
                    }
                    _ => PullError::Other(msg),
                }
            }
            OciDistributionError::ServerError { code, .. } => match code {
                401 => PullError::Unauthenticated(msg),
                403 => PullError::PermissionDenied(msg),
                404 => PullError::NotFound(msg),
                500..=599 => PullError::Unavailable(msg),
                _ => PullError::Other(msg),
            },
            OciDistributionError::UnsupportedMediaTypeError(_)
            | OciDistributionError::UnsupportedSchemaVersionError(_) => PullError::Unsupported(msg),
            _ => PullError::Other(msg),
        }
    }

    /// A containerd failure while writing content: a digest mismatch on commit is data loss.
    pub(crate) fn from_content(what: &str, e: crate::BridgeError) -> PullError {
        let text = e.to_string();
        if text.contains("unexpected commit digest") || text.contains("unexpected commit size") {
            PullError::DataLoss(format!("{what}: {text}"))
        } else {
            PullError::Containerd(e)
        }
    }
}

/// What went wrong on the way to a registry, in words a node operator can act on: refused,
/// DNS, TLS (with the config key for a registry that speaks plain HTTP) or a timeout, then
/// the client's own chain of errors.
fn transport_failure(e: &dyn std::error::Error) -> String {
    let mut chain = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let detail = chain.join(": ");
    let lower = detail.to_ascii_lowercase();
    let host = url_host(&detail);
    let kind = if lower.contains("connection refused") {
        format!("connection refused: no registry listens at {host}")
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        format!("DNS lookup of {host} failed")
    } else if [
        "tls",
        "ssl",
        "certificate",
        "invalidcontenttype",
        "wrong version number",
        "handshake",
        "corrupt message",
    ]
    .iter()
    .any(|t| lower.contains(t))
    {
        format!("TLS with {host} failed; if this registry speaks plain HTTP, set insecure = true under [images.registries.\"{host}\"]")
    } else if lower.contains("timed out") || lower.contains("timeout") {
        format!("{host} did not answer in time")
    } else {
        format!("cannot reach {host}")
    };
    format!("{kind} ({detail})")
}

/// The `host[:port]` of the first URL in `text`, or "the registry".
fn url_host(text: &str) -> String {
    let Some(start) = text.find("://") else {
        return "the registry".into();
    };
    let rest = &text[start + 3..];
    rest.split(['/', ')', ' '])
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("the registry")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Chain(&'static str, Option<Box<Chain>>);
    impl std::fmt::Display for Chain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Chain {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }
    fn chain(top: &'static str, cause: &'static str) -> Chain {
        Chain(top, Some(Box::new(Chain(cause, None))))
    }

    #[test]
    fn transport_failures_say_what_failed() {
        let top = "error sending request for url (https://127.0.0.1:5099/v2/)";
        let refused =
            transport_failure(&chain(top, "tcp connect error: Connection refused (os error 111)"));
        assert!(
            refused.starts_with("connection refused: no registry listens at 127.0.0.1:5099"),
            "{refused}"
        );
        let tls =
            transport_failure(&chain(top, "received corrupt message of type InvalidContentType"));
        assert!(tls.starts_with("TLS with 127.0.0.1:5099 failed"), "{tls}");
        assert!(tls.contains("[images.registries.\"127.0.0.1:5099\"]"), "{tls}");
        let dns = transport_failure(&chain(
            "error sending request for url (https://nowhere.invalid/v2/)",
            "dns error: failed to lookup address information",
        ));
        assert!(dns.starts_with("DNS lookup of nowhere.invalid failed"), "{dns}");
        assert!(dns.contains("failed to lookup address"), "the client's own words follow: {dns}");
        assert_eq!(url_host("no url"), "the registry");
    }
}
