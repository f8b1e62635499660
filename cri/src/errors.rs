//! The one place where cricket's internal errors become gRPC statuses.

use containerd_bridge::pull::PullError;
use containerd_bridge::BridgeError;
use tonic::{Code, Status};

/// An RPC cricket does not serve.
pub fn unimplemented(rpc: &str) -> Status {
    Status::unimplemented(format!("{rpc} is not implemented by cricket"))
}

/// A container ID (or prefix) that names no container.
pub fn container_not_found(id: &str) -> Status {
    Status::not_found(format!("container {id:?} not found"))
}

/// A pod sandbox ID (or prefix) that names no pod sandbox.
pub fn sandbox_not_found(id: &str) -> Status {
    Status::not_found(format!("pod sandbox {id:?} not found"))
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

/// A failed pull: the code tells kubelet whether to retry, the message names the image.
pub fn from_pull(image: &str, e: PullError) -> Status {
    let message = format!("pull {image:?}: {e}");
    match e {
        PullError::InvalidReference { .. } => {
            Status::invalid_argument(format!("image.image: {message}"))
        }
        PullError::NotFound(_) => Status::not_found(message),
        PullError::Unauthenticated(_) => Status::unauthenticated(message),
        PullError::PermissionDenied(_) => Status::permission_denied(message),
        PullError::Unavailable(_) | PullError::Stalled(_) => Status::unavailable(message),
        PullError::DataLoss(_) => Status::data_loss(message),
        PullError::Unsupported(_) => Status::failed_precondition(message),
        PullError::Containerd(b) => from_bridge(&format!("pull {image:?}"), b),
        PullError::Other(_) => Status::unknown(message),
    }
}
