//! A real grpc-go client (the generation kubelet and crictl were built on) is served, both
//! with its socket path as `:authority` (which h2 alone rejects) and with the unix:// target.

use cricket::api::v1::{VersionRequest, VersionResponse};
use e2e::grpc_go::{call, Dial};
use e2e::{Node, NodeOptions};
use prost::Message;

const VERSION: &str = "/runtime.v1.RuntimeService/Version";

#[test]
fn grpc_go_is_served_with_the_socket_path_or_unix_target_as_authority() {
    let node = Node::start(NodeOptions::default());
    let socket = node.ws.run("cricket.sock");
    let request = VersionRequest { version: "v1".into() }.encode_to_vec();
    for dial in [Dial::SocketPath, Dial::UnixScheme] {
        let reply =
            call(&socket, dial, VERSION, &request, 40).unwrap_or_else(|e| panic!("{dial:?}: {e}"));
        let v = VersionResponse::decode(reply.as_slice()).unwrap();
        assert_eq!(v.runtime_name, "cricket", "{dial:?}");
        assert_eq!(v.runtime_api_version, "v1");
    }
    let err = call(&socket, Dial::SocketPath, "/runtime.v1.RuntimeService/NoSuchMethod", &[], 1)
        .unwrap_err();
    assert!(err.contains("code=Unimplemented"), "{err}");
    node.finish();
}
