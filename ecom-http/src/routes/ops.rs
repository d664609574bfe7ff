//! Operations routes outside `/v1/api` (no API key): health, readiness, metrics, the OpenAPI
//! document.

use crate::envelope::{Envelope, ErrorBody, Reply};
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operations routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// The serialized OpenAPI document, shared by the router.
#[derive(Clone, Debug)]
pub struct OpenApiJson(pub Arc<String>);

/// Health payload.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The server is up", body = Envelope<HealthDto>))
)]
pub async fn healthz() -> Reply<HealthDto> {
    Reply::ok("ok", HealthDto { status: "ok" })
}

/// Readiness: the store answers a read, and the lock and stock gate answer a ping.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "The backends answer", body = Envelope<HealthDto>),
        (status = 503, description = "A backend does not answer", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Reply<HealthDto>, AppError> {
    let backend = state.ecom.backend();
    // A lookup that finds nothing but makes the store answer.
    let store = backend
        .api_keys
        .find_by_hash("readiness-probe")
        .await
        .map(drop);
    for (part, result) in [
        ("store", store),
        ("lock", backend.lock.ping().await),
        ("stock gate", backend.gate.ping().await),
    ] {
        if let Err(err) = result {
            tracing::warn!(error = ?err, part, "readiness probe failed");
            return Err(AppError::http(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{part} not ready"),
            ));
        }
    }
    Ok(Reply::ok("ready", HealthDto { status: "ready" }))
}

/// Request counts and latency by route and status, in the Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.record_payments(&state.ecom.payments.stats());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// This API's OpenAPI document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"))
)]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}
