//! Payment provider callbacks, outside `/v1/api` (no API key: a provider signs its calls).

use crate::dto::order::{OrderStatusDto, PaymentStatusDto};
use crate::envelope::{Envelope, ErrorBody, Reply};
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use ecom_core::order::Order;
use ecom_core::payment::{Callback, SIGNATURE_HEADER};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The callback routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payment_webhook))
        .routes(routes!(provider_webhook))
}

/// What a callback left the order at.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAckDto {
    /// The order.
    pub order_id: String,
    /// Its payment's status after the event.
    pub payment_status: PaymentStatusDto,
    /// Its status after the event.
    pub order_status: OrderStatusDto,
}

impl From<Order> for WebhookAckDto {
    fn from(order: Order) -> Self {
        WebhookAckDto {
            order_id: order.id.to_string(),
            payment_status: order.payment.status.into(),
            order_status: order.status.into(),
        }
    }
}

/// The built-in signed-webhook provider (`online`) reports a payment event. Header
/// `x-ecom-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; body
/// `{id, type: payment.succeeded | payment.failed | refund.succeeded, order_id, amount,
/// currency, provider_ref?}` with `amount` in major units as the order shows it. An event id
/// seen before is answered 200 and changes nothing; `payment.failed` cancels the order (its
/// stock and code uses return); a payment for an order already cancelled (expired unpaid) is
/// 409 and its refund is requested.
#[utoipa::path(
    post, path = "/webhooks/payments", tag = "payments",
    request_body(content = String, description = "The provider's event (JSON), signed over its raw bytes", content_type = "application/json"),
    params(("x-ecom-signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    responses(
        (status = 200, description = "Applied (or a replay, ignored)", body = Envelope<WebhookAckDto>),
        (status = 400, description = "Missing or bad signature, stale timestamp, or not a payment event", body = ErrorBody),
        (status = 404, description = "No such order, or the server offers no online payments", body = ErrorBody),
        (status = 409, description = "The amount or currency does not match the order, or the order was cancelled before the payment arrived (a refund was requested)", body = ErrorBody),
    )
)]
pub async fn payment_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Reply<WebhookAckDto>, AppError> {
    // The header is this route's contract whether or not the server offers online payments.
    if !headers.contains_key(SIGNATURE_HEADER) {
        return Err(ecom_core::Error::validation(SIGNATURE_HEADER, "is required").into());
    }
    receive(&state, "online", &headers, body).await
}

/// A payment provider an application registered under `method` reports an event, in the
/// provider's own format and signature scheme (`online` is the built-in signed webhook).
#[utoipa::path(
    post, path = "/webhooks/payments/{method}", tag = "payments",
    params(("method" = String, Path, description = "The provider's method name")),
    request_body(content = String, description = "The provider's event, as it sends it", content_type = "application/json"),
    responses(
        (status = 200, description = "Applied (or a replay, ignored)", body = Envelope<WebhookAckDto>),
        (status = 400, description = "Not genuine, or not understood", body = ErrorBody),
        (status = 404, description = "No such method or order", body = ErrorBody),
        (status = 409, description = "The event does not fit the order", body = ErrorBody),
    )
)]
pub async fn provider_webhook(
    State(state): State<AppState>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Reply<WebhookAckDto>, AppError> {
    receive(&state, &method, &headers, body).await
}

async fn receive(
    state: &AppState,
    method: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Reply<WebhookAckDto>, AppError> {
    let callback = Callback {
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                value
                    .to_str()
                    .ok()
                    .map(|v| (name.as_str().to_owned(), v.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    // The provider's errors name the fields of its own callback body (`order_id`, `amount`):
    // shown as they are, not renamed.
    let order = state
        .ecom
        .payments
        .callback(method, &callback)
        .await
        .map_err(AppError::Core)?;
    Ok(Reply::ok("Payment event received", order.into()))
}
