//! cricket's own metrics, in the Prometheus exposition format when `[metrics] address` is
//! set: CRI calls by method and status code (counts and latency), pod start durations, CNI
//! plugin call durations, image pull bytes and durations, and how late the stats sampler runs.
//! They are recorded whether or not the endpoint is on (a few atomic adds per call).

mod calls;
mod endpoint;

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

pub use calls::CallMetricsLayer;
pub use endpoint::serve;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CniLabels {
    operation: String,
    result: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms to about 65 s: CRI calls, CNI plugins and pod starts all fall in it.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    call_seconds: Histograms<CallLabels>,
    pod_start_seconds: Histogram,
    cni_seconds: Histograms<CniLabels>,
    pull_seconds: Histogram,
    pull_bytes: Counter,
    sampler_lag: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("cricket"),
            calls: Family::default(),
            call_seconds: Family::new_with_constructor(seconds_buckets),
            pod_start_seconds: seconds_buckets(),
            cni_seconds: Family::new_with_constructor(seconds_buckets),
            pull_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 16)),
            pull_bytes: Counter::default(),
            sampler_lag: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register("cri_requests", "CRI calls by method and gRPC status code", m.calls.clone());
        r.register_with_unit(
            "cri_request_duration",
            "CRI call latency by method and gRPC status code",
            Unit::Seconds,
            m.call_seconds.clone(),
        );
        r.register_with_unit(
            "pod_start_duration",
            "RunPodSandbox calls that succeeded: their duration",
            Unit::Seconds,
            m.pod_start_seconds.clone(),
        );
        r.register_with_unit(
            "cni_duration",
            "CNI plugin calls by operation (ADD, DEL) and result",
            Unit::Seconds,
            m.cni_seconds.clone(),
        );
        r.register_with_unit(
            "image_pull_duration",
            "Image pulls that succeeded: their duration",
            Unit::Seconds,
            m.pull_seconds.clone(),
        );
        r.register_with_unit(
            "image_pull",
            "Layer bytes downloaded by image pulls",
            Unit::Bytes,
            m.pull_bytes.clone(),
        );
        r.register_with_unit(
            "stats_sampler_lag",
            "How late the last stats sampling round started and ran",
            Unit::Seconds,
            m.sampler_lag.clone(),
        );
        m
    }
}

impl Metrics {
    pub fn record_call(&self, method: &str, code: tonic::Code, took: Duration) {
        let labels = CallLabels { method: method.into(), code: format!("{code:?}") };
        self.call_seconds.get_or_create(&labels).observe(took.as_secs_f64());
        self.calls.get_or_create(&labels).inc();
    }

    pub fn record_pod_start(&self, took: Duration) {
        self.pod_start_seconds.observe(took.as_secs_f64());
    }

    pub fn record_cni(&self, operation: &str, ok: bool, took: Duration) {
        let labels = CniLabels {
            operation: operation.into(),
            result: if ok { "success" } else { "failure" }.into(),
        };
        self.cni_seconds.get_or_create(&labels).observe(took.as_secs_f64());
    }

    pub fn record_pull(&self, downloaded_bytes: u64, took: Duration) {
        self.pull_bytes.inc_by(downloaded_bytes);
        self.pull_seconds.observe(took.as_secs_f64());
    }

    pub fn set_sampler_lag(&self, lag: Duration) {
        self.sampler_lag.set(lag.as_secs_f64());
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_pulls_appear_in_the_text() {
        let m = Metrics::default();
        m.record_call("RunPodSandbox", tonic::Code::Ok, Duration::from_millis(3));
        m.record_call("RunPodSandbox", tonic::Code::NotFound, Duration::from_millis(1));
        m.record_pull(1234, Duration::from_secs(1));
        m.record_cni("ADD", true, Duration::from_millis(20));
        let text = m.encode();
        assert!(
            text.contains("cricket_cri_requests_total{method=\"RunPodSandbox\",code=\"Ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "cricket_cri_requests_total{method=\"RunPodSandbox\",code=\"NotFound\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("cricket_cri_request_duration_seconds_count{method=\"RunPodSandbox\",code=\"Ok\"} 1"), "{text}");
        assert!(text.contains("cricket_image_pull_bytes_total 1234"), "{text}");
        assert!(text.contains("cricket_cni_duration_seconds_bucket{le=\"0.032\",operation=\"ADD\",result=\"success\"} 1"), "{text}");
    }
}
