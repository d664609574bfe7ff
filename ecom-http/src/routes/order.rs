//! Orders: a customer lists, reads and cancels their own; a shop moves its own lines along.

use crate::dto::order::{orders, OrderDto, ShopOrderDto, ShopOrdersQuery, StatusBody};
use crate::dto::PageQuery;
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{CustomerAuth, Json, PathId, Query, ShopAuth};
use crate::fields::{wire, Area};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::id::OrderId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The order routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(update_order_status))
        .routes(routes!(list_shop_orders))
        .routes(routes!(get_shop_order))
}

/// The seller's order desk: orders with at least one line of the calling shop, newest first,
/// each in the shop's view (its own lines, discount, subtotal, fulfilment; the payment's
/// method and status). Filters: `status` (orders with a line of the shop in that status) and
/// `payment_status`.
#[utoipa::path(
    get, path = "/shop/orders", tag = "orders",
    params(ShopOrdersQuery),
    responses((status = 200, description = "The shop's orders, in its view", body = Envelope<Vec<ShopOrderDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_shop_orders(
    shop: ShopAuth,
    State(state): State<AppState>,
    Query(query): Query<ShopOrdersQuery>,
) -> Result<Reply<Vec<ShopOrderDto>>, AppError> {
    let list = state
        .ecom
        .orders
        .list_for_shop(&shop.shop_id, query.filter(), query.page()?)
        .await?;
    let views = list
        .iter()
        .map(|order| ShopOrderDto::view(order, &shop.shop_id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Reply::ok("Get shop orders success!", views))
}

/// One order in the calling shop's view; an order without lines of the shop is 404.
#[utoipa::path(
    get, path = "/shop/orders/{orderId}", tag = "orders",
    params(("orderId" = String, Path, description = "The order id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The order, as the shop sees it", body = Envelope<ShopOrderDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_shop_order(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<OrderId>,
) -> Result<Reply<ShopOrderDto>, AppError> {
    let order = state.ecom.orders.get_for_shop(&shop.shop_id, &id).await?;
    Ok(Reply::ok(
        "Get shop order success!",
        ShopOrderDto::view(&order, &shop.shop_id)?,
    ))
}

/// The calling customer's orders, newest first.
#[utoipa::path(
    get, path = "/orders", tag = "orders",
    params(PageQuery),
    responses((status = 200, description = "The customer's orders", body = Envelope<Vec<OrderDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_orders(
    user: CustomerAuth,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Reply<Vec<OrderDto>>, AppError> {
    let list = state
        .ecom
        .orders
        .list(&user.customer_id, query.page()?)
        .await?;
    Ok(Reply::ok("Get list orders success!", orders(list)))
}

/// One of the calling customer's orders (another customer's order is 404).
#[utoipa::path(
    get, path = "/orders/{orderId}", tag = "orders",
    params(("orderId" = String, Path, description = "The order id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The order", body = Envelope<OrderDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_order(
    user: CustomerAuth,
    State(state): State<AppState>,
    PathId(id): PathId<OrderId>,
) -> Result<Reply<OrderDto>, AppError> {
    let order = state.ecom.orders.get(&user.customer_id, &id).await?;
    Ok(Reply::ok("Get order success!", order.into()))
}

/// Cancels one of the calling customer's orders while it is pending or confirmed: every line is
/// cancelled, its stock returns and the codes' uses go back. Later, or a second time: 409.
#[utoipa::path(
    post, path = "/orders/{orderId}/cancel", tag = "orders",
    params(("orderId" = String, Path, description = "The order id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "The cancelled order", body = Envelope<OrderDto>),
        (status = 409, description = "The order can no longer be cancelled", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn cancel_order(
    user: CustomerAuth,
    State(state): State<AppState>,
    PathId(id): PathId<OrderId>,
) -> Result<Reply<OrderDto>, AppError> {
    let order = state.ecom.orders.cancel(&user.customer_id, &id).await?;
    Ok(Reply::ok("Cancel order success!", order.into()))
}

/// The calling shop changes the status of its own lines of an order (an order without lines of
/// the shop is 404) and may set a note and a tracking number. The order's status rolls up from
/// its lines; cancelled lines return their stock. An invalid transition is 409.
#[utoipa::path(
    patch, path = "/orders/{orderId}/status", tag = "orders",
    params(("orderId" = String, Path, description = "The order id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The updated order, as the shop sees it", body = Envelope<ShopOrderDto>),
        (status = 409, description = "A line cannot make that transition", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn update_order_status(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<OrderId>,
    Json(body): Json<StatusBody>,
) -> Result<Reply<ShopOrderDto>, AppError> {
    let order = state
        .ecom
        .orders
        .update_status(&shop.shop_id, &id, body.into())
        .await
        .map_err(wire(Area::Orders))?;
    let view = ShopOrderDto::view(&order, &shop.shop_id)?;
    Ok(Reply::ok("Update order status success!", view))
}
