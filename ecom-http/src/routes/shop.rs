//! A shop's own settings.

use crate::dto::shop::{ShopSettingsBody, ShopSettingsDto};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{Json, ShopAuth};
use crate::state::AppState;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The shop settings routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

/// The calling shop's settings.
#[utoipa::path(
    get, path = "/shop/settings", tag = "shops",
    responses((status = 200, description = "The shop's settings", body = Envelope<ShopSettingsDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_settings(
    shop: ShopAuth,
    State(state): State<AppState>,
) -> Result<Reply<ShopSettingsDto>, AppError> {
    let settings = state.ecom.shops.settings(&shop.shop_id).await?;
    Ok(Reply::ok("Get shop settings success!", settings.into()))
}

/// Changes the calling shop's settings (fields left out stay as they are) and returns them.
#[utoipa::path(
    patch, path = "/shop/settings", tag = "shops",
    request_body = ShopSettingsBody,
    responses((status = 200, description = "The shop's settings after the change", body = Envelope<ShopSettingsDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn update_settings(
    shop: ShopAuth,
    State(state): State<AppState>,
    Json(body): Json<ShopSettingsBody>,
) -> Result<Reply<ShopSettingsDto>, AppError> {
    let settings = state
        .ecom
        .shops
        .update_settings(&shop.shop_id, body.into())
        .await?;
    Ok(Reply::ok("Update shop settings success!", settings.into()))
}
