//! Prometheus metrics: request counts and latency by route and status, rendered at `/metrics`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Name of the request counter.
pub const REQUESTS_TOTAL: &str = "http_requests_total";
/// Name of the request latency histogram, in seconds.
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A handle on the process-wide Prometheus recorder. The `metrics` facade has one global
/// recorder per process, so every router in a process shares it. If the embedding
/// application installed a recorder of its own first, this one stays empty and the
/// application's recorder receives the measurements.
#[derive(Clone)]
pub struct Metrics(PrometheusHandle);

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// The process-wide registry, installed on first use.
    pub fn global() -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(BUCKETS) {
                Ok(with_buckets) => with_buckets,
                Err(err) => {
                    tracing::warn!(%err, "latency buckets refused; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder is already installed; /metrics stays empty");
            }
            handle
        });
        Metrics(handle.clone())
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.0.render()
    }

    /// Drains old histogram samples; run periodically (the server does, every few seconds).
    pub fn upkeep(&self) {
        self.0.run_upkeep();
    }

    /// How often [`Metrics::upkeep`] should run.
    pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);
}

/// Middleware counting each request and timing it, labelled by method, matched route
/// (`unmatched` for unknown routes, so clients cannot blow up the label space) and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}
