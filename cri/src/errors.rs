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

/// A failed CNI call: a plugin's own error code (CNI spec, "Error") picks the status, so a
/// node whose network config is wrong reads as such, and "try again later" as unavailable.
pub fn from_cni(context: &str, e: &cni::CniError) -> Status {
    use cni::CniError;
    let code = match e {
        // 1 incompatible version, 2 unsupported field, 3 unknown container, 4 invalid
        // environment, 6 undecodable, 7 invalid network config.
        CniError::Plugin { code: 1..=4 | 6 | 7, .. } => Code::FailedPrecondition,
        CniError::Plugin { code: 11, .. } => Code::Unavailable,
        CniError::Read { .. } | CniError::Parse { .. } | CniError::PluginNotFound { .. } => {
            Code::FailedPrecondition
        }
        CniError::Timeout { .. } => Code::Unavailable,
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
        let status = from_cni("CNI ADD", &plugin(7));
        assert!(status.message().starts_with("CNI ADD: CNI plugin bridge ADD failed (code 7)"));
    }
}
