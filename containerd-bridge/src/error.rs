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
}
