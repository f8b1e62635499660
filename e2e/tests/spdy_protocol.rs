//! The SPDY/3.1 server seen frame by frame with a test-only client: nothing is sent before
//! the client's first frame, PINGs are echoed, each SYN_STREAM gets its SYN_REPLY in order and
//! before any DATA, received data is credited back with WINDOW_UPDATE, and the end is the
//! exit status and FIN on each output stream, then GOAWAY. The SPDY dictionary matches Debian's spdystream byte for byte.

use std::time::Duration;

use cricket::api::v1::*;
use e2e::spdy_client::{Client, Frame};
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};

#[test]
fn the_dictionary_is_spdystreams() {
    let go = std::fs::read_to_string(
        "/usr/share/gocode/src/github.com/moby/spdystream/spdy/dictionary.go",
    )
    .expect("golang-github-docker-spdystream-dev");
    let body = &go[go.find("[]byte{").expect("the dictionary literal")..];
    let theirs: Vec<u8> =
        body.split("0x").skip(1).map(|h| u8::from_str_radix(&h[..2], 16).unwrap()).collect();
    assert_eq!(cricket::streaming::spdy_dictionary(), theirs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_order_ping_and_the_end_of_a_session() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "frames")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let req = ExecRequest {
        container_id: id,
        cmd: vec!["cat".into()],
        stdin: true,
        stdout: true,
        ..Default::default()
    };
    let url = pod.cri.runtime.exec(req).await.unwrap().into_inner().url;

    let frames = tokio::task::spawn_blocking(move || {
        let mut c = Client::connect(&url, "v4.channel.k8s.io").unwrap();
        assert!(
            !c.anything_within(Duration::from_millis(300)),
            "nothing before the client's first frame"
        );
        c.ping(7);
        assert_eq!(c.read().unwrap(), Frame::Ping { id: 7 }, "PING echoed");
        for (sid, kind) in [(1, "error"), (3, "stdin"), (5, "stdout")] {
            c.syn_stream(sid, &[("streamtype", kind)]);
        }
        c.data(3, b"abc\n", true);
        let mut frames = Vec::new();
        loop {
            let f = c.read().unwrap();
            let end = f == Frame::GoAway;
            frames.push(f);
            if end {
                return frames;
            }
        }
    })
    .await
    .unwrap();

    let replies: Vec<u32> = frames
        .iter()
        .filter_map(|f| if let Frame::SynReply { id } = f { Some(*id) } else { None })
        .collect();
    assert_eq!(replies, [1, 3, 5], "a reply per stream, in order");
    let first_data = frames.iter().position(|f| matches!(f, Frame::Data { .. })).unwrap();
    assert!(
        frames[..first_data].iter().filter(|f| matches!(f, Frame::SynReply { .. })).count() == 3,
        "replies before any data"
    );
    let on = |sid: u32| -> (Vec<u8>, bool) {
        frames.iter().fold((Vec::new(), false), |(mut d, fin), f| match f {
            Frame::Data { id, data, fin: f } if *id == sid => {
                d.extend_from_slice(data);
                (d, fin || *f)
            }
            _ => (d, fin),
        })
    };
    assert_eq!(on(5), (b"abc\n".to_vec(), true), "stdout, then FIN");
    let (status, fin) = on(1);
    assert!(
        fin && String::from_utf8_lossy(&status).contains("Success"),
        "{:?}",
        String::from_utf8_lossy(&status)
    );
    assert!(
        frames.contains(&Frame::WindowUpdate { id: 3, delta: 4 }),
        "the 4 bytes of stdin are credited back"
    );
    assert_eq!(frames.last(), Some(&Frame::GoAway));
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_open_its_streams_in_time_is_let_go() {
    let extra =
        "[streaming]\naddress = \"127.0.0.1\"\nport = 0\nstream_creation_timeout = \"1s\"\n";
    let node = Node::start(NodeOptions {
        registry: true,
        extra_config: extra.into(),
        ..Default::default()
    });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "slow")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let req = ExecRequest {
        container_id: id,
        cmd: vec!["true".into()],
        stdout: true,
        ..Default::default()
    };
    let url = pod.cri.runtime.exec(req).await.unwrap().into_inner().url;
    let frames = tokio::task::spawn_blocking(move || {
        // Before connecting: the server's clock starts when the connection is upgraded.
        let t0 = std::time::Instant::now();
        let mut c = Client::connect(&url, "v4.channel.k8s.io").unwrap();
        // Only the error stream; stdout never comes.
        c.syn_stream(1, &[("streamtype", "error")]);
        let mut frames = Vec::new();
        while let Ok(f) = c.read() {
            let end = f == Frame::GoAway;
            frames.push(f);
            if end {
                break;
            }
        }
        (frames, t0.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(frames.0, [Frame::SynReply { id: 1 }, Frame::GoAway], "replied, then let go");
    assert!(frames.1 >= Duration::from_secs(1), "not before the creation timeout: {:?}", frames.1);
    pod.remove().await;
    node.finish();
}
