//! Inventory: a shop adds stock to and looks at its own products' inventories.

use crate::dto::inventory::{AddStockBody, InventoryDto};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{Json, PathId, ShopAuth};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::id::ProductId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The inventory routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_stock))
        .routes(routes!(get_inventory))
}

/// Adds stock to one of the calling shop's products (and optionally sets its location).
#[utoipa::path(
    post, path = "/inventory", tag = "inventory",
    request_body = AddStockBody,
    responses((status = 200, description = "The inventory after the addition", body = Envelope<InventoryDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn add_stock(
    shop: ShopAuth,
    State(state): State<AppState>,
    Json(body): Json<AddStockBody>,
) -> Result<Reply<InventoryDto>, AppError> {
    let product_id = ProductId::parse(&body.product_id)?;
    let inventory = state
        .ecom
        .inventory
        .add_stock(
            &shop.shop_id,
            &product_id,
            body.stock,
            body.location.as_deref(),
        )
        .await?;
    Ok(Reply::ok("Add stock success!", inventory.into()))
}

/// The current stock and open reservations of one of the calling shop's products.
#[utoipa::path(
    get, path = "/inventory/{productId}", tag = "inventory",
    params(("productId" = String, Path, description = "The product id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The inventory", body = Envelope<InventoryDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_inventory(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(product_id): PathId<ProductId>,
) -> Result<Reply<InventoryDto>, AppError> {
    let inventory = state.ecom.inventory.get(&shop.shop_id, &product_id).await?;
    Ok(Reply::ok("Get inventory success!", inventory.into()))
}
