//! Inventory: a shop adds stock to, adjusts, and looks at its own products' inventories and
//! their adjustments.

use crate::dto::inventory::{
    AddStockBody, AdjustStockBody, AdjustmentDto, AdjustmentsQuery, InventoryDto,
};
use crate::dto::PageQuery;
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{Json, PathId, Query, ShopAuth};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::id::ProductId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The inventory routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_stock))
        .routes(routes!(adjust_stock))
        .routes(routes!(get_inventory))
        .routes(routes!(list_adjustments))
}

/// Adds stock to one of the calling shop's products, or to one of its models (`modelId`), and
/// optionally sets its location.
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
            body.model_id.as_ref(),
            body.stock,
            body.location.as_deref(),
        )
        .await?;
    Ok(Reply::ok("Add stock success!", inventory.into()))
}

/// The current stock and open reservations of one of the calling shop's products; for a
/// product with models, their sum and each model's (`models`).
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

/// Adjusts the free stock of one of the calling shop's products, by `delta` units or to `set`
/// units (a stock count), for a reason; the adjustment is recorded in the product's history.
/// Only free units can be taken away: a result below zero is 409 and changes nothing. Setting
/// the stock it already has is recorded with delta 0.
#[utoipa::path(
    post, path = "/inventory/adjust", tag = "inventory",
    request_body = AdjustStockBody,
    responses(
        (status = 200, description = "The inventory after the adjustment", body = Envelope<InventoryDto>),
        (status = 404, description = "Not one of the caller's products", body = crate::envelope::ErrorBody),
        (status = 409, description = "The free stock would go below zero; nothing changed", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn adjust_stock(
    shop: ShopAuth,
    State(state): State<AppState>,
    Json(body): Json<AdjustStockBody>,
) -> Result<Reply<InventoryDto>, AppError> {
    let (product_id, model, change, reason) = body.into_change()?;
    let adjusted = state
        .ecom
        .inventory
        .adjust(&shop.shop_id, &product_id, model.as_ref(), change, &reason)
        .await?;
    Ok(Reply::ok(
        "Adjust stock success!",
        adjusted.inventory.into(),
    ))
}

/// The recorded stock adjustments of one of the calling shop's products (of one of its models:
/// `modelId`, required for a product with models), newest first (the newest 1000 are kept).
#[utoipa::path(
    get, path = "/inventory/{productId}/adjustments", tag = "inventory",
    params(
        ("productId" = String, Path, description = "The product id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"),
        AdjustmentsQuery,
    ),
    responses((status = 200, description = "The adjustments, newest first", body = Envelope<Vec<AdjustmentDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_adjustments(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(product_id): PathId<ProductId>,
    Query(query): Query<AdjustmentsQuery>,
) -> Result<Reply<Vec<AdjustmentDto>>, AppError> {
    let model = query
        .model_id
        .as_deref()
        .map(ProductId::parse)
        .transpose()
        .map_err(|e| e.rename_fields(&[("product_id", "model_id")]))?;
    let page = PageQuery {
        limit: query.limit,
        page: query.page,
    };
    let list = state
        .ecom
        .inventory
        .adjustments(&shop.shop_id, &product_id, model.as_ref(), page.page()?)
        .await?;
    Ok(Reply::ok(
        "Get adjustments success!",
        list.into_iter().map(Into::into).collect(),
    ))
}
