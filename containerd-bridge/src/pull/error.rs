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
            OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
                PullError::Unauthenticated(msg)
            }
            OciDistributionError::ImageManifestNotFoundError(_) => PullError::NotFound(msg),
            OciDistributionError::DigestError(_) => PullError::DataLoss(msg),
            OciDistributionError::RequestError(r) if r.is_connect() || r.is_timeout() => PullError::Unavailable(msg),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                match codes.first() {
                    Some(OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::BlobUnknown | OciErrorCode::NotFound) => {
                        PullError::NotFound(msg)
                    }
                    Some(OciErrorCode::Unauthorized) => PullError::Unauthenticated(msg),
                    Some(OciErrorCode::Denied) => PullError::PermissionDenied(msg),
                    Some(OciErrorCode::DigestInvalid | OciErrorCode::SizeInvalid) => PullError::DataLoss(msg),
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
            OciDistributionError::UnsupportedMediaTypeError(_) | OciDistributionError::UnsupportedSchemaVersionError(_) => {
                PullError::Unsupported(msg)
            }
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
