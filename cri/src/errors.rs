//! The one place where cricket's internal errors become gRPC statuses.

use containerd_bridge::BridgeError;
use tonic::{Code, Status};

/// An RPC whose issue has not landed yet.
pub fn unimplemented(rpc: &str) -> Status {
    Status::unimplemented(format!("{rpc} is not implemented by cricket yet"))
}

/// containerd failures keep their code where it means the same to a CRI client.
pub fn from_bridge(context: &str, e: BridgeError) -> Status {
    let code = match e.code() {
        Some(Code::NotFound) => Code::NotFound,
        Some(Code::AlreadyExists) => Code::AlreadyExists,
        Some(Code::Unavailable) | Some(Code::DeadlineExceeded) => Code::Unavailable,
        _ => Code::Internal,
    };
    Status::new(code, format!("{context}: {e}"))
}
