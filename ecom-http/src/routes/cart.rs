//! Cart (customer): add, update, remove, read. Every answer is the cart after the change, in
//! the shape of `GET /carts` (the empty cart when the customer has none).

use crate::dto::cart::{AddToCartBody, CartDto, RemoveFromCartBody, UpdateCartBody};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{CustomerAuth, Json};
use crate::state::AppState;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The cart routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_to_cart, remove_from_cart, get_cart))
        .routes(routes!(update_cart))
}

/// Adds units of a published product to the customer's cart (creating the cart, or growing the
/// product's line). A client-sent `price` is ignored.
#[utoipa::path(
    post, path = "/carts", tag = "cart",
    request_body = AddToCartBody,
    responses((status = 200, description = "The cart after the addition", body = Envelope<CartDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn add_to_cart(
    user: CustomerAuth,
    State(state): State<AppState>,
    Json(body): Json<AddToCartBody>,
) -> Result<Reply<CartDto>, AppError> {
    let cart = state.ecom.carts.add(&user.customer_id, body.into()).await?;
    Ok(Reply::ok("Add to cart success!", Some(cart).into()))
}

/// Changes quantities: `quantity` 0 removes the line, otherwise the
/// line changes by `quantity - old_quantity` and must stay between 1 and 1000000. Changes apply
/// in order and stop at the first that fails (the earlier ones stay applied).
#[utoipa::path(
    post, path = "/carts/update", tag = "cart",
    request_body = UpdateCartBody,
    responses((status = 200, description = "The cart after the changes", body = Envelope<CartDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn update_cart(
    user: CustomerAuth,
    State(state): State<AppState>,
    Json(body): Json<UpdateCartBody>,
) -> Result<Reply<CartDto>, AppError> {
    let cart = state
        .ecom
        .carts
        .update(&user.customer_id, body.changes())
        .await?;
    Ok(Reply::ok("Update cart success!", cart.into()))
}

/// Removes a product's line from the customer's cart (an absent line is not an error).
#[utoipa::path(
    delete, path = "/carts", tag = "cart",
    request_body = RemoveFromCartBody,
    responses((status = 200, description = "The cart after the removal", body = Envelope<CartDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn remove_from_cart(
    user: CustomerAuth,
    State(state): State<AppState>,
    Json(body): Json<RemoveFromCartBody>,
) -> Result<Reply<CartDto>, AppError> {
    let cart = state
        .ecom
        .carts
        .remove(&user.customer_id, &body.product_id, body.model_id.as_ref())
        .await?;
    Ok(Reply::ok("Delete cart item success!", cart.into()))
}

/// The customer's active cart. A customer without one gets the empty cart:
/// `{"_id": null, "cart_state": "active", "cart_products": [], "cart_count_product": 0}`.
#[utoipa::path(
    get, path = "/carts", tag = "cart",
    responses((status = 200, description = "The cart (possibly the empty cart)", body = Envelope<CartDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_cart(
    user: CustomerAuth,
    State(state): State<AppState>,
) -> Result<Reply<CartDto>, AppError> {
    let cart = state.ecom.carts.get(&user.customer_id).await?;
    Ok(Reply::ok("Get cart success!", cart.into()))
}
