//! cricket's own Prometheus endpoint (`[metrics] address`): scraped after a pull, a pod's
//! start and stop and a refused call, it counts and times each by method and code, times the
//! pod start and the CNI ADD and DEL, and counts the pulled bytes.

use std::io::{Read, Write};

use cricket::api::v1::*;
use e2e::prometheus_text::{parse, Exposition};
use e2e::workload::{pod_config, Pod};
use e2e::{Node, NodeOptions};

/// GETs `path`; returns the status line, the headers and the body.
fn get(address: &str, path: &str) -> (String, String, String) {
    let mut conn = std::net::TcpStream::connect(address).unwrap();
    write!(conn, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("headers end");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_lowercase(), body.to_string())
}

/// The address of the "metrics endpoint listening" log line.
fn bound_address(log: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains("metrics endpoint listening"))
        .unwrap_or_else(|| panic!("no listening line in\n{log}"));
    let at = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("address="))
        .unwrap_or_else(|| panic!("{line}"));
    at.trim_matches('"').to_string()
}

fn scrape(address: &str) -> Exposition {
    let (status, headers, body) = get(address, "/metrics");
    assert!(status.contains(" 200 "), "{status}");
    assert!(headers.contains("content-type: application/openmetrics-text"), "{headers}");
    parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_counts_calls_pod_starts_cni_and_pulls() {
    // Port 0: cricket binds a free port and logs it (no race with other tests for a port).
    let mut node = Node::start(NodeOptions {
        registry: true,
        extra_config: "[metrics]\naddress = \"127.0.0.1:0\"\n".into(),
        ..Default::default()
    });
    node.write_cni_config();
    node.wait_ready().await;
    let address = bound_address(&node.cricket().log_text());
    let mut pod = Pod::start(&node, pod_config(&node, "measured")).await;
    let err = pod
        .cri
        .runtime
        .container_status(ContainerStatusRequest { container_id: "nope".into(), verbose: false })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    pod.remove().await;

    let m = scrape(&address);
    assert!(m.ends_with_eof, "OpenMetrics ends with # EOF");
    let calls = |method: &str, code: &str| {
        m.value("cricket_cri_requests_total", &[("method", method), ("code", code)])
    };
    assert_eq!(calls("RunPodSandbox", "Ok"), Some(1.0));
    assert_eq!(calls("PullImage", "Ok"), Some(1.0));
    assert_eq!(calls("ContainerStatus", "NotFound"), Some(1.0));
    assert_eq!(
        m.value(
            "cricket_cri_request_duration_seconds_count",
            &[("method", "RunPodSandbox"), ("code", "Ok")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.types.get("cricket_cri_request_duration_seconds").map(String::as_str),
        Some("histogram")
    );
    // Buckets are cumulative: each holds at least the one below, the last all of them.
    let buckets: Vec<f64> = m
        .samples
        .iter()
        .filter(|s| {
            s.name == "cricket_cri_request_duration_seconds_bucket"
                && s.labels.get("method").map(String::as_str) == Some("RunPodSandbox")
        })
        .map(|s| s.value)
        .collect();
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]) && buckets.last() == Some(&1.0),
        "{buckets:?}"
    );
    assert_eq!(m.value("cricket_pod_start_duration_seconds_count", &[]), Some(1.0));
    assert!(m.value("cricket_pod_start_duration_seconds_sum", &[]).unwrap() > 0.0);
    for op in ["ADD", "DEL"] {
        assert_eq!(
            m.value(
                "cricket_cni_duration_seconds_count",
                &[("operation", op), ("result", "success")]
            ),
            Some(1.0),
            "{op}"
        );
    }
    let pulled = m.value("cricket_image_pull_bytes_total", &[]).unwrap();
    assert!(pulled > 100_000.0, "the busybox layer was downloaded: {pulled}");
    assert_eq!(m.value("cricket_image_pull_duration_seconds_count", &[]), Some(1.0));
    assert!(m.value("cricket_stats_sampler_lag_seconds", &[]).is_some());
    let (status, _, _) = get(&address, "/other");
    assert!(status.contains(" 404 "), "{status}");
    node.finish();
}
