use crate::api::v1::{VersionRequest, VersionResponse};

/// The kubelet-facing API version field (CRI keeps it at "0.1.0").
const KUBELET_API_VERSION: &str = "0.1.0";

pub(super) fn version(_req: &VersionRequest) -> VersionResponse {
    VersionResponse {
        version: KUBELET_API_VERSION.to_string(),
        runtime_name: crate::RUNTIME_NAME.to_string(),
        runtime_version: crate::VERSION.to_string(),
        runtime_api_version: crate::CRI_API_VERSION.to_string(),
    }
}
