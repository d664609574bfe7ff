//! Checkout (customer): review prices a request; order places it (the saga of ecom-core).

use crate::dto::checkout::{
    CheckoutBody, IdempotencyKeyHeader, OrderBody, ReviewDto, IDEMPOTENCY_KEY,
};
use crate::dto::order::OrderDto;
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{CustomerAuth, Json};
use crate::fields::{wire, Area};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use ecom_core::idempotency::IdempotencyKey;
use ecom_core::service::PlaceOrder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The checkout routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(review))
        .routes(routes!(place_order))
}

/// Prices a request from stored products and the shops' codes (client prices are ignored).
/// Nothing is written.
#[utoipa::path(
    post, path = "/checkout/review", tag = "checkout",
    request_body = CheckoutBody,
    responses((status = 200, description = "The priced request", body = Envelope<ReviewDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn review(
    user: CustomerAuth,
    State(state): State<AppState>,
    Json(body): Json<CheckoutBody>,
) -> Result<Reply<ReviewDto>, AppError> {
    let request = body.request()?;
    let review = state
        .ecom
        .checkout
        .review(&user.customer_id, &request)
        .await
        .map_err(wire(Area::Checkout))?;
    Ok(Reply::ok(
        "Review checkout success!",
        ReviewDto::new(&request, review),
    ))
}

/// The `idempotency-key` header, if sent, parsed by the core's rule.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, AppError> {
    headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| IdempotencyKey::parse_bytes(value.as_bytes()))
        .transpose()
        .map_err(AppError::from)
}

/// Places an order: reviews again at server prices, reserves every line all or nothing,
/// redeems the codes, stores the order and removes the bought lines from the cart. Not enough
/// stock for any line is 409 with nothing reserved. With an `idempotency-key`, a repeat answers
/// with the first outcome (the same order, or the same error).
#[utoipa::path(
    post, path = "/checkout/order", tag = "checkout",
    params(IdempotencyKeyHeader),
    request_body = OrderBody,
    responses(
        (status = 201, description = "The order", body = Envelope<OrderDto>),
        (status = 409, description = "Not enough stock for a line; nothing was reserved", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn place_order(
    user: CustomerAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<OrderBody>,
) -> Result<Reply<OrderDto>, AppError> {
    let idempotency_key = idempotency_key(&headers)?;
    let (request, shipping, payment_method) = body.into_parts()?;
    let placed = state
        .ecom
        .checkout
        .place_order(
            &user.customer_id,
            PlaceOrder {
                request,
                shipping,
                payment_method,
                idempotency_key,
            },
        )
        .await
        .map_err(wire(Area::Checkout));
    state.metrics.record_checkout(placed.as_ref().map(|_| ()));
    Ok(Reply::created("Order placed!", placed?.into()))
}
