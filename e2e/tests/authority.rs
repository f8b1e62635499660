//! grpc-go's unix dialer sends the escaped socket path as `:authority`; cricket must serve it.

use cricket::api::v1::{VersionRequest, VersionResponse};
use e2e::raw_h2::RawH2;
use e2e::{Node, NodeOptions};
use prost::Message;

const VERSION_PATH: &str = "/runtime.v1.RuntimeService/Version";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_authority_over_continuations_with_a_churning_dynamic_table() {
    let node = Node::start(NodeOptions::default());
    let socket = node.ws.run("cricket.sock");
    let escaped = socket.display().to_string().replace('/', "%2F");
    tokio::task::spawn_blocking(move || {
        let mut h2 = RawH2::connect(&socket).expect("connect");
        let request = VersionRequest { version: "v1".into() }.encode_to_vec();
        let padding = "p".repeat(300);
        for i in 0..60 {
            // Valid first (forwarded as sent), then mostly escaped (re-encoded from then on).
            let authority =
                if i < 5 || i % 4 == 3 { "localhost".to_string() } else { escaped.clone() };
            // New metadata on every call fills the client's HPACK table and forces evictions.
            let id = format!("{i}-{padding}");
            let extra = [("x-request-id", id.as_str()), ("x-fixed", "same-every-time")];
            let reply = h2
                .unary(VERSION_PATH, &authority, &extra, &request, 1 + i % 4)
                .expect("call served");
            assert_eq!(reply.header(":status"), Some("200"), "call {i}: {reply:?}");
            assert_eq!(reply.header("grpc-status"), Some("0"), "call {i}: {reply:?}");
            let v = VersionResponse::decode(reply.grpc_message()).expect("a VersionResponse");
            assert_eq!(v.runtime_name, "cricket");
        }
        let reply = h2
            .unary("/runtime.v1.RuntimeService/NoSuchMethod", &escaped, &[], &[], 2)
            .expect("call served");
        assert_eq!(
            reply.header("grpc-status"),
            Some("12"),
            "Unimplemented, not a reset: {reply:?}"
        );
    })
    .await
    .unwrap();
    node.finish();
}
