//! Prometheus metrics: request counts and latency by route and status, and the outcomes of
//! checkouts (placed, rejected by reason, oversell-guard rejections), rendered at `/metrics`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name of the request counter.
pub const REQUESTS_TOTAL: &str = "http_requests_total";
/// Name of the request latency histogram, in seconds.
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";

/// Name of the counter of orders placed through `POST /checkout/order`.
pub const CHECKOUTS_PLACED: &str = "ecom_checkouts_placed_total";
/// Name of the counter of checkouts that failed, labelled by `reason`: `out_of_stock`,
/// `discount`, `busy`, `unavailable` or `other` (bad input, unknown products...).
pub const CHECKOUTS_REJECTED: &str = "ecom_checkouts_rejected_total";
/// Name of the counter of checkouts refused by the oversell guard (not enough stock for a line;
/// nothing was reserved).
pub const OVERSELL_GUARD_REJECTIONS: &str = "ecom_oversell_guard_rejections_total";
/// Name of the counter of recoveries (of a stale hold, code use, gate admission or return)
/// that failed; each is retried with backoff.
pub const RECOVERY_FAILURES: &str = "ecom_recovery_failures_total";

/// Name of the counter of payments that reached a status, labelled by `method` and `outcome`
/// (`paid`, `failed`, `refunded`).
pub const PAYMENTS: &str = "ecom_payments_total";
/// Name of the counter of unpaid online orders the server cancelled at their expiry.
pub const PAYMENT_EXPIRIES: &str = "ecom_payment_expiries_total";
/// Name of the counter of refunds asked of payment providers.
pub const REFUNDS_REQUESTED: &str = "ecom_refunds_requested_total";

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Returns requested, by `reason` (counted from the events this process moved into the log).
pub const RETURNS_REQUESTED: &str = "ecom_returns_requested_total";
/// Moves of returns, by `outcome` (`accepted`, `rejected`, `received`, `closed`, `refunded`).
pub const RETURNS: &str = "ecom_returns_total";
/// Refunds of returns, by `outcome` (`due`, `succeeded`, `failed`).
pub const RETURN_REFUNDS: &str = "ecom_return_refunds_total";
/// The amounts of [`RETURN_REFUNDS`], in minor units of the server's currency, by `outcome`.
pub const RETURN_REFUND_AMOUNTS: &str = "ecom_return_refund_amount_minor_total";

/// Events moved into the log by this process, by `type`.
pub const EVENTS: &str = "ecom_events_total";

/// Webhook deliveries by `outcome` (`succeeded`, `retrying`, `failed`, `lost`).
pub const WEBHOOK_DELIVERIES: &str = "ecom_webhook_deliveries_total";
/// Webhook endpoints disabled (a `410 Gone`, continuous failure).
pub const WEBHOOK_ENDPOINTS_DISABLED: &str = "ecom_webhook_endpoints_disabled_total";
/// How far webhook delivery runs behind, in seconds: the age of the oldest delivery the last
/// claim took (0 when nothing was due).
pub const WEBHOOK_LAG: &str = "ecom_webhook_delivery_lag_seconds";

/// The registry of one server: its own Prometheus recorder, so two servers in one process (or
/// an application with recorders of its own) never mix their counts. Nothing is installed
/// globally.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    /// Requests being served now.
    in_flight: Arc<AtomicUsize>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every checkout series registered at zero.
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(with_buckets) => with_buckets,
            Err(err) => {
                tracing::warn!(%err, "latency buckets refused; using summaries");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let metrics = Metrics {
            handle: recorder.handle(),
            recorder: Arc::new(recorder),
            in_flight: Arc::default(),
        };
        metrics.record(describe);
        metrics
    }

    /// Runs `f`, sending what it records with the `metrics` macros to this registry.
    fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains old histogram samples; run periodically (the server does, every few seconds).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Sets the count of failed recoveries to `total` (kept by the checkout service).
    pub fn record_recovery_failures(&self, total: u64) {
        self.record(|| metrics::counter!(RECOVERY_FAILURES).absolute(total));
    }

    /// Sets the payment counters to `counts` (kept by the payment service).
    pub fn record_payments(&self, counts: &ecom_core::service::PaymentCounts) {
        self.record(|| {
            for (method, status, n) in &counts.outcomes {
                metrics::counter!(PAYMENTS, "method" => method.clone(), "outcome" => status.name())
                    .absolute(*n);
            }
            metrics::counter!(PAYMENT_EXPIRIES).absolute(counts.expired);
            metrics::counter!(REFUNDS_REQUESTED).absolute(counts.refunds_requested);
        });
    }

    /// Sets the event counters to `counts` (kept by the event service).
    pub fn record_events(&self, counts: &[(ecom_core::event::EventKind, u64)]) {
        self.record(|| {
            for (kind, n) in counts {
                metrics::counter!(EVENTS, "type" => kind.name()).absolute(*n);
            }
        });
    }

    /// Sets the return counters to `counts` (kept by the return service).
    pub fn record_returns(&self, counts: &ecom_core::service::ReturnCounts) {
        self.record(|| {
            for (reason, n) in &counts.requested {
                metrics::counter!(RETURNS_REQUESTED, "reason" => *reason).absolute(*n);
            }
            for (outcome, n) in &counts.moves {
                metrics::counter!(RETURNS, "outcome" => *outcome).absolute(*n);
            }
            for (outcome, n, minor) in &counts.refunds {
                metrics::counter!(RETURN_REFUNDS, "outcome" => *outcome).absolute(*n);
                metrics::counter!(RETURN_REFUND_AMOUNTS, "outcome" => *outcome).absolute(*minor);
            }
        });
    }

    /// How many requests are being served now (background work yields to them).
    pub fn requests_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Sets how far webhook delivery runs behind.
    pub fn record_webhook_lag(&self, lag: Duration) {
        self.record(|| metrics::gauge!(WEBHOOK_LAG).set(lag.as_secs_f64()));
    }

    /// Sets the webhook counters to `counts` (kept by the webhook service).
    pub fn record_webhooks(&self, counts: &ecom_core::service::WebhookCounts) {
        self.record(|| {
            for (outcome, n) in counts.outcomes() {
                metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).absolute(n);
            }
            metrics::counter!(WEBHOOK_ENDPOINTS_DISABLED).absolute(counts.endpoints_disabled);
        });
    }

    /// How often [`Metrics::upkeep`] should run.
    pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);
}

/// The label of a request's method: one of the standard methods, or `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
}

/// Middleware counting each request and timing it, labelled by method (`other` for any method
/// but the standard ones), matched route (`unmatched` for unknown routes) and status: clients
/// cannot grow the label space.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let serving = InFlight::enter(&metrics.in_flight);
    let response = next.run(request).await;
    drop(serving);
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    let elapsed = started.elapsed().as_secs_f64();
    metrics.record(|| {
        metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
        metrics::histogram!(REQUEST_DURATION, &labels).record(elapsed);
    });
    response
}

/// One request counted in flight until dropped (also when its future is dropped half-way).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn describe() {
    metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests by method, route and status");
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method, route and status"
    );
    metrics::describe_counter!(CHECKOUTS_PLACED, "Orders placed");
    metrics::describe_counter!(
        CHECKOUTS_REJECTED,
        "Checkouts that failed, by reason (out_of_stock, discount, busy, unavailable, other)"
    );
    metrics::describe_counter!(
        OVERSELL_GUARD_REJECTIONS,
        "Checkouts refused because a line lacked stock (nothing was reserved)"
    );
    metrics::describe_counter!(
        RECOVERY_FAILURES,
        "Recoveries of stale holds, uses, admissions or returns that failed (retried with backoff)"
    );
    metrics::describe_counter!(
        PAYMENTS,
        "Payments that reached a status, by method and outcome (paid, failed, refunded)"
    );
    metrics::describe_counter!(
        PAYMENT_EXPIRIES,
        "Unpaid online orders cancelled at their expiry"
    );
    metrics::describe_counter!(REFUNDS_REQUESTED, "Refunds asked of payment providers");
    metrics::describe_counter!(EVENTS, "Events moved into the log by this process, by type");
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts of this process, by outcome"
    );
    metrics::describe_counter!(
        WEBHOOK_ENDPOINTS_DISABLED,
        "Webhook endpoints this process disabled (410 Gone, continuous failure)"
    );
    metrics::describe_gauge!(
        WEBHOOK_LAG,
        metrics::Unit::Seconds,
        "Age of the oldest webhook delivery the last claim took (0: nothing was due)"
    );
    metrics::describe_counter!(RETURNS_REQUESTED, "Returns requested, by reason");
    metrics::describe_counter!(
        RETURNS,
        "Moves of returns, by outcome (accepted, rejected, received, closed, refunded)"
    );
    metrics::describe_counter!(
        RETURN_REFUNDS,
        "Refunds of returns, by outcome (due, succeeded, failed)"
    );
    metrics::describe_counter!(
        RETURN_REFUND_AMOUNTS,
        "Amounts of the refunds of returns in minor units, by outcome"
    );
    metrics::gauge!(WEBHOOK_LAG).set(0.0);
    metrics::counter!(PAYMENT_EXPIRIES).absolute(0);
    metrics::counter!(REFUNDS_REQUESTED).absolute(0);
    // Registered at zero so dashboards see every series before the first checkout.
    metrics::counter!(CHECKOUTS_PLACED).absolute(0);
    metrics::counter!(RECOVERY_FAILURES).absolute(0);
    metrics::counter!(OVERSELL_GUARD_REJECTIONS).absolute(0);
    for reason in REJECTION_REASONS {
        metrics::counter!(CHECKOUTS_REJECTED, "reason" => *reason).absolute(0);
    }
}

/// Every `reason` label of [`CHECKOUTS_REJECTED`].
pub const REJECTION_REASONS: &[&str] =
    &["out_of_stock", "discount", "busy", "unavailable", "other"];

/// The `reason` label of a failed checkout.
pub fn rejection_reason(err: &ecom_core::Error) -> &'static str {
    use ecom_core::Error;
    match err {
        Error::InsufficientStock { .. } => "out_of_stock",
        Error::DiscountNotApplicable(_) => "discount",
        Error::Busy(_) => "busy",
        Error::Unavailable(_) => "unavailable",
        _ => "other",
    }
}

impl Metrics {
    /// Counts the outcome of one `place_order` call: placed, or rejected by reason (out of
    /// stock also counts as an oversell-guard rejection).
    pub fn record_checkout(&self, outcome: Result<(), &ecom_core::Error>) {
        self.record(|| match outcome {
            Ok(()) => metrics::counter!(CHECKOUTS_PLACED).increment(1),
            Err(err) => {
                let reason = rejection_reason(err);
                metrics::counter!(CHECKOUTS_REJECTED, "reason" => reason).increment(1);
                if matches!(err, ecom_core::Error::InsufficientStock { .. }) {
                    metrics::counter!(OVERSELL_GUARD_REJECTIONS).increment(1);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for made_up in ["BREW", "PROPFIND", "X-1", "get"] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{made_up}");
        }
    }
}
