//! What the `:authority` rewriter costs: the same RuntimeService served in-process on a unix
//! socket with and without the rewrite, 10k unary Version calls per round from a tonic client,
//! rounds interleaved; and the rewriter alone on a grpc-go-like header block.
//! Run: cargo bench -p e2e --bench authority_rewrite

use std::sync::Arc;
use std::time::{Duration, Instant};

use containerd_bridge::{Containerd, ContainerdConfig};
use cricket::adapters::containerd_monitor::Readiness;
use cricket::api::v1::runtime_service_server::RuntimeServiceServer;
use cricket::api::v1::VersionRequest;
use cricket::config::Config;
use cricket::context::Context;
use cricket::h2_authority::{AuthorityFixStream, AuthorityRewriter, IndexingEncoder};
use cricket::runtime::RuntimeService;
use e2e::cri_client::CriClient;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_stream::StreamExt;

const CALLS: usize = 10_000;
const ROUNDS: usize = 3;

fn service() -> RuntimeServiceServer<RuntimeService> {
    let config = Config::default();
    let containerd = Containerd::new(ContainerdConfig {
        address: "/nonexistent/containerd.sock".into(),
        namespace: "k8s.io".into(),
        snapshotter: "overlayfs".into(),
    })
    .unwrap();
    let (_tx, readiness) = tokio::sync::watch::channel(Readiness::ready());
    let ctx = Context::new(Arc::new(config), containerd, readiness);
    RuntimeServiceServer::new(RuntimeService::new(Arc::new(ctx)))
}

async fn serve(path: &std::path::Path, rewrite: bool) {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).unwrap();
    let router = tonic::transport::Server::builder().add_service(service());
    if rewrite {
        let incoming = UnixListenerStream::new(listener).map(|c| c.map(AuthorityFixStream::new));
        tokio::spawn(router.serve_with_incoming(incoming));
    } else {
        tokio::spawn(router.serve_with_incoming(UnixListenerStream::new(listener)));
    }
}

async fn round(client: &mut CriClient) -> Duration {
    let t0 = Instant::now();
    for _ in 0..CALLS {
        client.runtime.version(VersionRequest { version: "v1".into() }).await.unwrap();
    }
    t0.elapsed()
}

/// The rewriter on RFC 7541 C.4.1's Huffman-coded request, as a new stream each time.
fn micro_huffman() -> f64 {
    let block = [
        0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90,
        0xf4, 0xff,
    ];
    let mut rw = AuthorityRewriter::default();
    let mut out = Vec::new();
    rw.process(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &mut out).unwrap();
    let n = 100_000u32;
    let mut input = Vec::new();
    let t0 = Instant::now();
    for i in 0..n {
        input.clear();
        input.extend_from_slice(&[0, 0, block.len() as u8, 0x1, 0x5]);
        input.extend_from_slice(&(2 * i + 1).to_be_bytes());
        input.extend_from_slice(&block);
        out.clear();
        rw.process(&input, &mut out).unwrap();
    }
    t0.elapsed().as_nanos() as f64 / f64::from(n)
}

fn micro() -> f64 {
    let mut encoder = IndexingEncoder::default();
    let mut input = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let mut rw = AuthorityRewriter::default();
    let mut out = Vec::new();
    rw.process(&input, &mut out).unwrap();
    let fields: [(&[u8], &[u8]); 7] = [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":path", b"/runtime.v1.RuntimeService/ListContainers"),
        (b":authority", b"%2Frun%2Fcricket%2Fcricket.sock"),
        (b"content-type", b"application/grpc"),
        (b"user-agent", b"grpc-go/1.59.0"),
        (b"te", b"trailers"),
    ];
    let n = 100_000u32;
    let t0 = Instant::now();
    for i in 0..n {
        let mut block = Vec::new();
        encoder.encode(&fields, &mut block);
        input.clear();
        let len = block.len() as u32;
        input.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, 0x1, 0x5]);
        input.extend_from_slice(&(2 * i + 1).to_be_bytes());
        input.extend_from_slice(&block);
        out.clear();
        rw.process(&input, &mut out).unwrap();
    }
    t0.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let ns = micro();
    let ns_huffman = micro_huffman();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("cricket-bench-authority-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (plain_path, rewrite_path) = (dir.join("plain.sock"), dir.join("rewrite.sock"));
        serve(&plain_path, false).await;
        serve(&rewrite_path, true).await;
        let mut plain = CriClient::connect(&plain_path).await.unwrap();
        let mut rewrite = CriClient::connect(&rewrite_path).await.unwrap();
        round(&mut plain).await; // warm-up
        round(&mut rewrite).await;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            a.push(round(&mut plain).await);
            b.push(round(&mut rewrite).await);
        }
        a.sort();
        b.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6 / CALLS as f64;
        println!("authority_rewrite: {CALLS} unary Version calls per round, {ROUNDS} rounds, median round");
        println!("  plain tonic/h2:        {:.1} us/call", us(a[ROUNDS / 2]));
        println!("  with the rewriter:     {:.1} us/call   (difference {:+.1} us/call)", us(b[ROUNDS / 2]), us(b[ROUNDS / 2]) - us(a[ROUNDS / 2]));
        println!("  rewriter alone:        {:.0} ns per grpc-go-like header block (decode + re-encode)", ns);
        println!("                         {:.0} ns per Huffman-coded block (RFC 7541 C.4.1)", ns_huffman);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
