//! cricket's errors, in its own terms: what went wrong and, for a bad request, which field.
//! `From<Error> for Status` is the one place where they become gRPC statuses; containerd,
//! CNI and pull failures are sorted into them here too.

use std::fmt::Display;

use containerd_bridge::pull::PullError;
use containerd_bridge::BridgeError;
use tonic::{Code, Status};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Cloneable, so that one outcome can answer every caller of a shared operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A request field is wrong: its path in the request, and why.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is well-formed, but the node or the object is not in a state to serve it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Worth retrying: containerd, a plugin or a registry is down or busy.
    #[error("{0}")]
    Unavailable(String),
    /// The caller went away or asked for it.
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    DeadlineExceeded(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    Unimplemented(String),
    /// A registry wants credentials, or refuses the ones given.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// Content that does not match its digest.
    #[error("{0}")]
    DataLoss(String),
    /// A failure the caller cannot fix: what cricket was doing, and what failed.
    #[error("{context}: {detail}")]
    Internal { context: String, detail: String },
    /// A failure whose kind is not known (a registry's own error).
    #[error("{0}")]
    Unknown(String),
}

/// A malformed name is the request's fault; a device the node's specs do not (or not
/// usably) define is the node's state, which a device plugin may yet fix.
impl From<crate::cdi::CdiError> for Error {
    fn from(e: crate::cdi::CdiError) -> Error {
        match e {
            crate::cdi::CdiError::BadName { field, reason } => Error::invalid(field, reason),
            other => Error::failed_precondition(other.to_string()),
        }
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Display) -> Error {
        Error::InvalidArgument { field: field.into(), reason: reason.to_string() }
    }

    pub fn internal(context: impl Into<String>, detail: impl Display) -> Error {
        Error::Internal { context: context.into(), detail: detail.to_string() }
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::NotFound(message.into())
    }

    pub fn already_exists(message: impl Into<String>) -> Error {
        Error::AlreadyExists(message.into())
    }

    pub fn failed_precondition(message: impl Into<String>) -> Error {
        Error::FailedPrecondition(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::Unavailable(message.into())
    }

    pub fn cancelled(message: impl Into<String>) -> Error {
        Error::Cancelled(message.into())
    }

    pub fn deadline_exceeded(message: impl Into<String>) -> Error {
        Error::DeadlineExceeded(message.into())
    }

    pub fn resource_exhausted(message: impl Into<String>) -> Error {
        Error::ResourceExhausted(message.into())
    }

    /// The gRPC code a CRI client sees.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Cancelled(_) => Code::Cancelled,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::ResourceExhausted(_) => Code::ResourceExhausted,
            Error::Unimplemented(_) => Code::Unimplemented,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::DataLoss(_) => Code::DataLoss,
            Error::Internal { .. } => Code::Internal,
            Error::Unknown(_) => Code::Unknown,
        }
    }

    /// The message a CRI client sees.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// A spec field the request got wrong is that field's fault; a spec the builder refuses
/// otherwise is cricket's.
impl From<crate::spec::SpecError> for Error {
    fn from(e: crate::spec::SpecError) -> Error {
        match e {
            crate::spec::SpecError::Invalid { field, detail } => Error::invalid(field, detail),
            crate::spec::SpecError::Build(detail) => {
                Error::internal("building the OCI spec", detail)
            }
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

/// A container ID (or prefix) that names no container.
pub fn container_not_found(id: &str) -> Error {
    Error::NotFound(format!("container {id:?} not found"))
}

/// A pod sandbox ID (or prefix) that names no pod sandbox.
pub fn sandbox_not_found(id: &str) -> Error {
    Error::NotFound(format!("pod sandbox {id:?} not found"))
}

/// containerd failures keep their code where it means the same to a CRI client.
pub fn from_bridge(context: &str, e: BridgeError) -> Error {
    let message = format!("{context}: {e}");
    match e.code() {
        Some(Code::NotFound) => Error::NotFound(message),
        Some(Code::AlreadyExists) => Error::AlreadyExists(message),
        Some(Code::Unavailable) | Some(Code::DeadlineExceeded) => Error::Unavailable(message),
        _ => Error::internal(context, e),
    }
}

/// A failed CNI call: a plugin's own error code (CNI spec, "Error") picks the kind, so a
/// node whose network config is wrong reads as such, and "try again later" as unavailable.
pub fn from_cni(context: &str, e: &cni::CniError) -> Error {
    use cni::CniError;
    let message = format!("{context}: {e}");
    match e {
        // 1 incompatible version, 2 unsupported field, 3 unknown container, 4 invalid
        // environment, 6 undecodable, 7 invalid network config.
        CniError::Plugin { code: 1..=4 | 6 | 7, .. } => Error::FailedPrecondition(message),
        CniError::Plugin { code: 11, .. } => Error::Unavailable(message),
        CniError::Read { .. } | CniError::Parse { .. } | CniError::PluginNotFound { .. } => {
            Error::FailedPrecondition(message)
        }
        CniError::Timeout { .. } => Error::Unavailable(message),
        _ => Error::internal(context, e),
    }
}

/// A failed pull: the kind tells kubelet whether to retry, the message names the image.
pub fn from_pull(image: &str, e: PullError) -> Error {
    let message = format!("pull {image:?}: {e}");
    match e {
        PullError::InvalidReference { .. } => Error::invalid("image.image", message),
        PullError::NotFound(_) => Error::NotFound(message),
        PullError::Unauthenticated(_) => Error::Unauthenticated(message),
        PullError::PermissionDenied(_) => Error::PermissionDenied(message),
        PullError::Unavailable(_) | PullError::Stalled(_) => Error::Unavailable(message),
        PullError::DataLoss(_) => Error::DataLoss(message),
        PullError::Unsupported(_) => Error::FailedPrecondition(message),
        PullError::Containerd(b) => from_bridge(&format!("pull {image:?}"), b),
        PullError::Other(_) => Error::Unknown(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cni::CniError;

    fn plugin(code: u32) -> CniError {
        CniError::Plugin {
            plugin: "bridge".into(),
            command: "ADD".into(),
            code,
            msg: "m".into(),
            details: String::new(),
        }
    }

    #[test]
    fn a_cni_plugins_error_code_picks_the_status() {
        let code = |e: CniError| from_cni("CNI ADD", &e).code();
        assert_eq!(code(plugin(7)), Code::FailedPrecondition, "invalid network config");
        assert_eq!(code(plugin(1)), Code::FailedPrecondition, "incompatible CNI version");
        assert_eq!(code(plugin(11)), Code::Unavailable, "try again later");
        assert_eq!(code(plugin(5)), Code::Internal, "I/O failure");
        assert_eq!(code(plugin(100)), Code::Internal, "the plugin's own code");
        let missing = CniError::PluginNotFound { plugin: "bridge".into(), dirs: vec![] };
        assert_eq!(code(missing), Code::FailedPrecondition);
        let status = Status::from(from_cni("CNI ADD", &plugin(7)));
        assert!(status.message().starts_with("CNI ADD: CNI plugin bridge ADD failed (code 7)"));
    }
}
