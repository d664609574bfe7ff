//! The routes, one module per area, and the [`router`] that assembles them.
//!
//! Adding an area is: a `dto/<area>.rs` with its shapes, a `routes/<area>.rs` with its handlers
//! (each annotated with `#[utoipa::path]`) and a `routes()` listing them, and one `.merge` line
//! in `api()` (this module, private).

pub mod access;
pub mod cart;
pub mod catalogue;
pub mod checkout;
pub mod discount;
pub mod event;
pub mod inventory;
pub mod ops;
pub mod order;
pub mod payment;
pub mod product;
pub mod returns;
pub mod shop;
pub mod webhook;

use crate::error::AppError;
use crate::extract::ApiKeyGuard;
use crate::layers;
use crate::openapi::{self, API_BASE};
use crate::state::AppState;
use axum::http::{Method, StatusCode, Uri};
use axum::{Extension, Router};
use ecom_core::kind::ProductKindRegistry;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Every route, with its OpenAPI description.
fn api() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(access::routes())
        .merge(product::routes())
        .merge(catalogue::routes())
        .merge(inventory::routes())
        .merge(discount::routes())
        .merge(cart::routes())
        .merge(checkout::routes())
        .merge(order::routes())
        .merge(returns::routes())
        .merge(shop::routes())
        .merge(event::routes())
        .merge(webhook::routes())
        .route_layer(axum::middleware::from_extractor::<ApiKeyGuard>());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(ops::routes())
        .merge(payment::routes())
        .nest(API_BASE, v1)
}

/// The OpenAPI document of every route [`router`] serves, with the built-in product kinds (a
/// router documents the kinds its [`AppState`] registered).
pub fn openapi_doc() -> serde_json::Value {
    let (_, doc) = api().split_for_parts();
    openapi::finish(doc, &ProductKindRegistry::with_builtins())
}

/// The whole HTTP API over `state`: the `/v1/api` routes, `/healthz`, `/readyz`, `/metrics`,
/// `/openapi.json`, 404/405 in the error envelope, and the middleware stack (request ids,
/// tracing, metrics, security headers, CORS, compression, timeout, body limit).
pub fn router(state: AppState) -> Router {
    let (routes, doc) = api().split_for_parts();
    let json = openapi::finish(doc, &state.ecom.config().kinds).to_string();
    let routes = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(ops::OpenApiJson(Arc::new(json))))
        .layer(Extension(state.clone()));
    layers::apply(routes, &state.http, &state.metrics).with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> AppError {
    AppError::http(
        StatusCode::NOT_FOUND,
        format!("route not found: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed on {}", uri.path()),
    )
}
