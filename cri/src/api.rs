//! The CRI as cricket serves it: `runtime.v1` of Kubernetes 1.37, generated at build time
//! from the schema in `cri/proto/`. Its messages are wire compatible with every older v1
//! peer (kubelet, crictl, critest); the tests in `api_wire_tests.rs` check that against the
//! 1.32 messages of the `k8s-cri` crate.

/// The schema as a protobuf `FileDescriptorSet`, for tests that compare it with other
/// versions of the CRI.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/runtime_v1_descriptor.bin"));

/// The `runtime.v1` package: messages, enums, and the RuntimeService and ImageService
/// clients and servers.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("runtime.v1");
}
