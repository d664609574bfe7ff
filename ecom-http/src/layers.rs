//! The middleware stack around every route: request ids, tracing, metrics, security headers,
//! CORS, compression, error envelopes for responses produced by middleware, panics caught as
//! 500, timeout and body limit.

use crate::envelope::ErrorBody;
use crate::extract::{API_KEY, CLIENT_ID, REFRESH_TOKEN};
use crate::http_config::HttpConfig;
use crate::metrics::{self, Metrics};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Headers set on every response (what helmet sets by default, for a JSON API).
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("origin-agent-cluster", "?1"),
    (
        "strict-transport-security",
        "max-age=15552000; includeSubDomains",
    ),
    ("x-dns-prefetch-control", "off"),
    ("x-download-options", "noopen"),
    ("x-permitted-cross-domain-policies", "none"),
    ("x-xss-protection", "0"),
];

/// Wraps every route of `router` (and its fallbacks) in the stack.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    http: &HttpConfig,
    metrics: &Metrics,
) -> Router<S> {
    // `layer` wraps what is already there: the last call is the outermost layer.
    router
        .layer(DefaultBodyLimit::max(http.body_limit))
        .layer(RequestBodyLimitLayer::new(http.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            http.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn_with_state(
            http.body_limit,
            envelope_errors,
        ))
        .layer(CompressionLayer::new())
        .layer(cors(http))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
            REQUEST_ID,
        )))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(
            HeaderName::from_static(REQUEST_ID),
            MakeRequestUuid,
        ))
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// CORS from the configured origins: none (the default) allows no cross-origin use; `*` any.
fn cors(http: &HttpConfig) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(API_KEY),
            HeaderName::from_static(CLIENT_ID),
            HeaderName::from_static(REFRESH_TOKEN),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([HeaderName::from_static(REQUEST_ID)]);
    if http.cors_origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let origins: Vec<HeaderValue> = http
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        layer.allow_origin(AllowOrigin::list(origins))
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(*name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}

/// A handler that panicked (a bug) answers 500 in the error envelope, and the connection
/// stays usable; the panic itself is logged.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    (
        status,
        axum::Json(ErrorBody::new(status, "internal server error")),
    )
        .into_response()
}

/// Puts error responses made by middleware or by axum itself (413 from the body limit, 503
/// from the timeout...) into the error envelope; the handlers' own errors already are.
async fn envelope_errors(
    State(body_limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body is too large (limit {body_limit} bytes)")
        }
        StatusCode::SERVICE_UNAVAILABLE => "request timed out; retry later".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let mut rebuilt = (status, axum::Json(ErrorBody::new(status, message))).into_response();
    for (name, value) in parts.headers.iter() {
        rebuilt
            .headers_mut()
            .entry(name)
            .or_insert_with(|| value.clone());
    }
    rebuilt
}
