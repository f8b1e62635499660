use tonic::Code;

pub type Result<T, E = BridgeError> = std::result::Result<T, E>;

/// An error from a conversation with containerd, naming the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("containerd {op}: {status}")]
    Rpc {
        op: &'static str,
        #[source]
        status: tonic::Status,
    },
    #[error("containerd {op}: {detail}")]
    Invalid { op: &'static str, detail: String },
    #[error("bad containerd address {address:?}: {detail}")]
    Address { address: String, detail: String },
}

impl BridgeError {
    /// Builds the mapper for `map_err` on a tonic call.
    pub(crate) fn rpc(op: &'static str) -> impl FnOnce(tonic::Status) -> BridgeError {
        move |status| BridgeError::Rpc { op, status }
    }

    pub fn code(&self) -> Option<Code> {
        match self {
            BridgeError::Rpc { status, .. } => Some(status.code()),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(Code::AlreadyExists)
    }

    /// Whether the error says something about the object asked for (it is missing, malformed,
    /// or not usable here) rather than about the conversation (containerd went away or timed
    /// out), after which nothing is known about the object.
    pub fn is_about_the_object(&self) -> bool {
        match self {
            BridgeError::Invalid { .. } => true,
            BridgeError::Rpc { status, .. } => matches!(
                status.code(),
                Code::NotFound | Code::InvalidArgument | Code::FailedPrecondition
            ),
            BridgeError::Address { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_says_nothing_about_the_object() {
        let rpc = |code| BridgeError::Rpc { op: "read", status: tonic::Status::new(code, "x") };
        assert!(rpc(Code::NotFound).is_about_the_object());
        assert!(BridgeError::Invalid {
            op: "image details",
            detail: "no manifest for this platform".into()
        }
        .is_about_the_object());
        for code in [
            Code::Unavailable,
            Code::Unknown,
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::Internal,
        ] {
            assert!(!rpc(code).is_about_the_object(), "{code:?}");
        }
    }
}
