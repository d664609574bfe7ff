//! Returns after delivery: a customer asks, cancels and disputes; a shop accepts, rejects,
//! receives and confirms a cash refund; the operator settles disputes.

use crate::dto::checkout::IdempotencyKeyHeader;
use crate::dto::returns::{
    AcceptBody, NewReturnBody, ReceiveBody, RejectBody, ResolveBody, ReturnDto, ReturnsQuery,
};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{CustomerAuth, Json, Operator, PathId, Query, ShopAuth};
use crate::routes::checkout::idempotency_key;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use ecom_core::id::{OrderId, ReturnId};
use ecom_core::service::{ReturnOf, ReturnService};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The return routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_return))
        .routes(routes!(list_returns))
        .routes(routes!(get_return))
        .routes(routes!(cancel_return))
        .routes(routes!(dispute_return))
        .routes(routes!(list_shop_returns))
        .routes(routes!(get_shop_return))
        .routes(routes!(accept_return))
        .routes(routes!(reject_return))
        .routes(routes!(receive_return))
        .routes(routes!(confirm_return_refund))
        .routes(routes!(resolve_return))
}

/// The return service for this request: keyed by its `idempotency-key`, if it sent one (a
/// retried move then answers the return as it stands).
fn returns(state: &AppState, headers: &HeaderMap) -> Result<ReturnService, AppError> {
    Ok(match idempotency_key(headers)? {
        Some(key) => state.ecom.returns.keyed(key),
        None => state.ecom.returns.clone(),
    })
}

fn view(found: &ReturnOf) -> ReturnDto {
    ReturnDto::from(&found.ret)
}

/// The calling customer asks for delivered units of one shop's lines of their order back,
/// within the return window (15 days after delivery by default). A line not delivered, past
/// its window or with fewer units left to return than asked: 409. With an `idempotency-key`,
/// a repeat answers the same return.
#[utoipa::path(
    post, path = "/orders/{orderId}/returns", tag = "returns",
    params(("orderId" = String, Path, description = "The order id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    request_body = NewReturnBody,
    responses(
        (status = 200, description = "The return, requested", body = Envelope<ReturnDto>),
        (status = 409, description = "The lines cannot be returned (not delivered, past the window, nothing left)", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn request_return(
    user: CustomerAuth,
    State(state): State<AppState>,
    PathId(id): PathId<OrderId>,
    headers: HeaderMap,
    Json(body): Json<NewReturnBody>,
) -> Result<Reply<ReturnDto>, AppError> {
    let key = idempotency_key(&headers)?;
    let found = state
        .ecom
        .returns
        .request(&user.customer_id, &id, body.into_input(key))
        .await?;
    Ok(Reply::ok("Request return success!", view(&found)))
}

/// The calling customer's returns (pages count orders, newest first).
#[utoipa::path(
    get, path = "/returns", tag = "returns",
    params(ReturnsQuery),
    responses((status = 200, description = "The customer's returns", body = Envelope<Vec<ReturnDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_returns(
    user: CustomerAuth,
    State(state): State<AppState>,
    Query(query): Query<ReturnsQuery>,
) -> Result<Reply<Vec<ReturnDto>>, AppError> {
    let mut filter = query.filter();
    filter.customer = Some(user.customer_id.clone());
    let list = state.ecom.returns.list(&filter, query.page()?).await?;
    Ok(Reply::ok(
        "Get returns success!",
        list.iter().map(view).collect(),
    ))
}

/// One of the calling customer's returns (another customer's is 404).
#[utoipa::path(
    get, path = "/returns/{returnId}", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The return", body = Envelope<ReturnDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_return(
    user: CustomerAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = state.ecom.returns.get(&user.customer_id, &id).await?;
    Ok(Reply::ok("Get return success!", view(&found)))
}

/// The calling customer withdraws a return before the shop received anything (requested or
/// accepted); later: 409.
#[utoipa::path(
    post, path = "/returns/{returnId}/cancel", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The return, cancelled", body = Envelope<ReturnDto>),
        (status = 409, description = "The return can no longer be cancelled", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn cancel_return(
    user: CustomerAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = returns(&state, &headers)?
        .cancel(&user.customer_id, &id)
        .await?;
    Ok(Reply::ok("Cancel return success!", view(&found)))
}

/// The calling customer disputes the shop's rejection, once; the operator decides.
#[utoipa::path(
    post, path = "/returns/{returnId}/dispute", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The return, disputed", body = Envelope<ReturnDto>),
        (status = 409, description = "Not rejected, or disputed already", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn dispute_return(
    user: CustomerAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = returns(&state, &headers)?
        .dispute(&user.customer_id, &id)
        .await?;
    Ok(Reply::ok("Dispute return success!", view(&found)))
}

/// The calling shop's returns, filtered by `status` (pages count orders, newest first).
#[utoipa::path(
    get, path = "/shop/returns", tag = "returns",
    params(ReturnsQuery),
    responses((status = 200, description = "The shop's returns", body = Envelope<Vec<ReturnDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_shop_returns(
    shop: ShopAuth,
    State(state): State<AppState>,
    Query(query): Query<ReturnsQuery>,
) -> Result<Reply<Vec<ReturnDto>>, AppError> {
    let mut filter = query.filter();
    filter.shop = Some(shop.shop_id.clone());
    let list = state.ecom.returns.list(&filter, query.page()?).await?;
    Ok(Reply::ok(
        "Get shop returns success!",
        list.iter().map(view).collect(),
    ))
}

/// One of the calling shop's returns (another shop's is 404).
#[utoipa::path(
    get, path = "/shop/returns/{returnId}", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The return", body = Envelope<ReturnDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_shop_return(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = state.ecom.returns.get_for_shop(&shop.shop_id, &id).await?;
    Ok(Reply::ok("Get shop return success!", view(&found)))
}

/// The calling shop accepts a requested return: `return_and_refund` waits for the units,
/// `refund_only` makes the refund due at once. Not requested any more: 409.
#[utoipa::path(
    post, path = "/shop/returns/{returnId}/accept", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    request_body = AcceptBody,
    responses(
        (status = 200, description = "The return, accepted", body = Envelope<ReturnDto>),
        (status = 409, description = "The return is not waiting for an answer", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn accept_return(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
    Json(body): Json<AcceptBody>,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = returns(&state, &headers)?
        .accept(&shop.shop_id, &id, body.mode.into())
        .await?;
    Ok(Reply::ok("Accept return success!", view(&found)))
}

/// The calling shop refuses a requested return, saying why.
#[utoipa::path(
    post, path = "/shop/returns/{returnId}/reject", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    request_body = RejectBody,
    responses(
        (status = 200, description = "The return, rejected", body = Envelope<ReturnDto>),
        (status = 409, description = "The return is not waiting for an answer", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn reject_return(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
    Json(body): Json<RejectBody>,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = returns(&state, &headers)?
        .reject(&shop.shop_id, &id, &body.reason)
        .await?;
    Ok(Reply::ok("Reject return success!", view(&found)))
}

/// The calling shop records the units it received of an accepted return (fewer than asked is
/// allowed), each `resellable` (back to stock) or `damaged`: the refund of the received units
/// is due.
#[utoipa::path(
    post, path = "/shop/returns/{returnId}/receive", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    request_body = ReceiveBody,
    responses(
        (status = 200, description = "The return, received; its refund due", body = Envelope<ReturnDto>),
        (status = 409, description = "The return is not waiting for its units", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn receive_return(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
    Json(body): Json<ReceiveBody>,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = returns(&state, &headers)?
        .receive(&shop.shop_id, &id, &body.lines())
        .await?;
    Ok(Reply::ok("Receive return success!", view(&found)))
}

/// The calling shop confirms it paid a cash-on-delivery return's refund by hand; a return paid
/// online is refunded by its provider (409).
#[utoipa::path(
    post, path = "/shop/returns/{returnId}/refund-paid", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The return, refunded", body = Envelope<ReturnDto>),
        (status = 409, description = "No refund is due, or it is the provider's", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn confirm_return_refund(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
) -> Result<Reply<ReturnDto>, AppError> {
    let found = returns(&state, &headers)?
        .confirm_refund(&shop.shop_id, &id)
        .await?;
    Ok(Reply::ok("Confirm return refund success!", view(&found)))
}

/// The operator (an API key with permission `1111` or `2222`, no token) decides a disputed
/// return: `refund` (at most `amount`, never more than the units cost) or `reject`.
#[utoipa::path(
    post, path = "/admin/returns/{returnId}/resolve", tag = "returns",
    params(("returnId" = String, Path, description = "The return id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"), IdempotencyKeyHeader),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "The return, decided", body = Envelope<ReturnDto>),
        (status = 409, description = "The return is not disputed", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn resolve_return(
    _operator: Operator,
    State(state): State<AppState>,
    PathId(id): PathId<ReturnId>,
    headers: HeaderMap,
    Json(body): Json<ResolveBody>,
) -> Result<Reply<ReturnDto>, AppError> {
    let (outcome, amount) = body.decision(state.ecom.config().currency)?;
    let found = returns(&state, &headers)?
        .resolve(&id, outcome, amount)
        .await?;
    Ok(Reply::ok("Resolve return success!", view(&found)))
}
