//! Exec, Attach and PortForward answer URLs of cricket's streaming server on loopback, with
//! random single-use tokens; bad requests are refused by name before any URL is made.

use std::io::{Read, Write};

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

/// The status code of a plain GET of `url`.
fn get_status(url: &str) -> u16 {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn exec_req(id: &str, f: impl FnOnce(&mut ExecRequest)) -> ExecRequest {
    let mut r = ExecRequest {
        container_id: id.into(),
        cmd: vec!["true".into()],
        stdout: true,
        ..Default::default()
    };
    f(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_carry_single_use_tokens_and_bad_requests_are_named() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "streams")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let pod_id = pod.id.clone();
    let rt = &mut pod.cri.runtime;

    let url = rt.exec(exec_req(&id, |_| {})).await.unwrap().into_inner().url;
    let token = url.rsplit('/').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/exec/"), "{url}");
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "128 random bits: {token}"
    );
    let other = rt.exec(exec_req(&id, |_| {})).await.unwrap().into_inner().url;
    assert_ne!(url, other);
    assert_ne!(get_status(&url), 404, "a fresh token is accepted");
    assert_eq!(get_status(&url), 404, "a used token is not");
    assert_eq!(
        get_status(&other.replace("/exec/", "/attach/")),
        404,
        "a token is for its kind only"
    );
    assert_eq!(get_status(&url.replace(&token, "00000000000000000000000000000000")), 404);

    let attach = AttachRequest { container_id: id.clone(), stdout: true, ..Default::default() };
    assert!(rt.attach(attach).await.unwrap().into_inner().url.contains("/attach/"));
    let forward = PortForwardRequest { pod_sandbox_id: pod_id.clone(), port: vec![80] };
    assert!(rt.port_forward(forward).await.unwrap().into_inner().url.contains("/portforward/"));

    let cases: Vec<(ExecRequest, Code, &str)> = vec![
        (exec_req("nope", |_| {}), Code::NotFound, "nope"),
        (exec_req(&id, |r| r.cmd.clear()), Code::InvalidArgument, "cmd"),
        (exec_req(&id, |r| r.stdout = false), Code::InvalidArgument, "stream"),
        (
            exec_req(&id, |r| {
                r.tty = true;
                r.stderr = true
            }),
            Code::InvalidArgument,
            "tty",
        ),
    ];
    for (req, code, names) in cases {
        let err = rt.exec(req).await.unwrap_err();
        assert!(err.code() == code && err.message().contains(names), "{err}");
    }
    let err = rt
        .port_forward(PortForwardRequest { pod_sandbox_id: "nope".into(), port: vec![80] })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    rt.stop_container(StopContainerRequest { container_id: id.clone(), timeout: 0 }).await.unwrap();
    let err = rt.exec(exec_req(&id, |_| {})).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    let err = rt
        .attach(AttachRequest { container_id: id.clone(), stdout: true, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_is_closed_after_the_idle_timeout() {
    let extra = "[streaming]\naddress = \"127.0.0.1\"\nport = 0\nstream_idle_timeout = \"2s\"\n";
    let node = Node::start(NodeOptions {
        registry: true,
        extra_config: extra.into(),
        ..Default::default()
    });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "idle")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let req = exec_req(&id, |r| {
        r.cmd = vec!["cat".into()];
        r.stdin = true;
    });
    let url = pod.cri.runtime.exec(req).await.unwrap().into_inner().url;
    // Before connecting: the server's idle clock starts while the handshake is answered.
    let t0 = std::time::Instant::now();
    let mut ws = e2e::websocket_client::connect(&url, "v5.channel.k8s.io").await.unwrap();
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        e2e::websocket_client::collect(&mut ws),
    )
    .await;
    assert!(ended.is_ok(), "the server closed the idle session");
    assert!(
        t0.elapsed() >= std::time::Duration::from_secs(2),
        "not before the idle timeout: {:?}",
        t0.elapsed()
    );
    pod.remove().await;
    node.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_server_speaks_https() {
    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    // A CA of the test's own, and a server certificate for 127.0.0.1 signed by it.
    let ws = e2e::workspace::Workspace::new();
    let dir = ws.run("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = (dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=e2e-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=cricket",
            "-keyout",
            "tls.key",
            "-out",
            "tls.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext",
            "-out",
            "tls.crt",
        ],
    ];
    for args in steps {
        let made =
            std::process::Command::new("openssl").args(args).current_dir(&dir).output().unwrap();
        assert!(
            made.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let extra = format!("[streaming]\naddress = \"127.0.0.1\"\nport = 0\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n", cert.display(), key.display());
    let node =
        Node::start(NodeOptions { registry: true, extra_config: extra, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "tls")).await;
    let id = pod.run(shell(&pod.image.clone(), "app", "sleep 1000")).await;
    let url = pod
        .cri
        .runtime
        .exec(exec_req(&id, |r| r.cmd = vec!["echo".into(), "over-tls".into()]))
        .await
        .unwrap()
        .into_inner()
        .url;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let mut roots = RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(&ca).unwrap()).unwrap();
    let config = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let host = url.trim_start_matches("https://").split('/').next().unwrap().to_string();
    let tcp = tokio::net::TcpStream::connect(&host).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("the certificate is the one configured");
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.replacen("https://", "wss://", 1).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "v5.channel.k8s.io".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::client_async(request, tls).await.unwrap();
    let mut out = Vec::new();
    while let Some(Ok(m)) = futures::StreamExt::next(&mut socket).await {
        if let tokio_tungstenite::tungstenite::Message::Binary(d) = m {
            if d.first() == Some(&1) {
                out.extend_from_slice(&d[1..]);
            }
        }
    }
    assert_eq!(out, b"over-tls\n");
    pod.remove().await;
    node.finish();
    for dir in [&ws.run_dir, &ws.lib_dir] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
