//! Discount codes: a shop creates, lists and deletes its codes; anyone with an API key sees
//! which products a code applies to; a customer prices a code and gives a use back.

use crate::dto::discount::{
    CancelUseBody, CancelledUseDto, CreateDiscountBody, DeletedDiscountDto, DiscountDto,
    ProductsForCodeQuery, QuoteBody, QuoteDto,
};
use crate::dto::product::{products, ProductDto};
use crate::dto::PageQuery;
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{CustomerAuth, Json, PathText, Query, ShopAuth};
use crate::fields::{wire, Area};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::service::ItemRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The discount routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_discount, list_discounts))
        .routes(routes!(products_for_code))
        .routes(routes!(discount_amount))
        .routes(routes!(delete_discount))
        .routes(routes!(cancel_discount_use))
}

/// Creates a discount code of the calling shop.
#[utoipa::path(
    post, path = "/discounts", tag = "discounts",
    request_body = CreateDiscountBody,
    responses(
        (status = 201, description = "The new code", body = Envelope<DiscountDto>),
        (status = 409, description = "The shop already has an active code with this text", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn create_discount(
    shop: ShopAuth,
    State(state): State<AppState>,
    Json(body): Json<CreateDiscountBody>,
) -> Result<Reply<DiscountDto>, AppError> {
    let currency = state.ecom.config().currency;
    let discount = state
        .ecom
        .discounts
        .create(&shop.shop_id, body.into_new_discount(currency)?)
        .await
        .map_err(wire(Area::Discounts))?;
    Ok(Reply::created("Create discount success!", discount.into()))
}

/// The calling shop's active codes, newest first.
#[utoipa::path(
    get, path = "/discounts", tag = "discounts",
    params(PageQuery),
    responses((status = 200, description = "Active codes of the shop", body = Envelope<Vec<DiscountDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_discounts(
    shop: ShopAuth,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Reply<Vec<DiscountDto>>, AppError> {
    let list = state
        .ecom
        .discounts
        .list(&shop.shop_id, query.page()?)
        .await?;
    Ok(Reply::ok(
        "Get list discounts success!",
        list.into_iter().map(Into::into).collect(),
    ))
}

/// The published products a shop's active code applies to, newest first. An unknown code is 404.
#[utoipa::path(
    get, path = "/discounts/list_product_code", tag = "discounts",
    params(ProductsForCodeQuery),
    responses(
        (status = 200, description = "Products the code applies to", body = Envelope<Vec<ProductDto>>),
        (status = 404, description = "The shop has no active code of that text", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn products_for_code(
    State(state): State<AppState>,
    Query(query): Query<ProductsForCodeQuery>,
) -> Result<Reply<Vec<ProductDto>>, AppError> {
    let page = query.page()?;
    let list = state
        .ecom
        .discounts
        .products_for_code(&query.shop_id, &query.code, page)
        .await?;
    Ok(Reply::ok("Get products of code success!", products(list)))
}

/// What a shop's code takes off some lines for the calling customer, at server prices (client
/// prices are ignored). A code that does not apply (expired, used up, below its minimum, no
/// eligible line) is 400 with the reason; an unknown code is 404.
#[utoipa::path(
    post, path = "/discounts/amount", tag = "discounts",
    request_body = QuoteBody,
    responses((status = 200, description = "The amount off", body = Envelope<QuoteDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn discount_amount(
    user: CustomerAuth,
    State(state): State<AppState>,
    Json(body): Json<QuoteBody>,
) -> Result<Reply<QuoteDto>, AppError> {
    let items: Vec<ItemRequest> = body.products.into_iter().map(Into::into).collect();
    let quote = state
        .ecom
        .discounts
        .quote(&user.customer_id, &body.shop_id, &body.code, &items)
        .await?;
    Ok(Reply::ok("Get discount amount success!", quote.into()))
}

/// Deletes one of the calling shop's active codes (another shop's code is 404). Codes spelled
/// `amount`, `cancel` or `list_product_code` cannot be deleted here: those paths are other
/// routes.
#[utoipa::path(
    delete, path = "/discounts/{code}", tag = "discounts",
    params(("code" = String, Path, description = "The code")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedDiscountDto>),
        (status = 405, description = "The code is `amount`, `cancel` or `list_product_code`: that path belongs to another route", body = crate::envelope::ErrorBody),
    ),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn delete_discount(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathText(code): PathText,
) -> Result<Reply<DeletedDiscountDto>, AppError> {
    state.ecom.discounts.delete(&shop.shop_id, &code).await?;
    Ok(Reply::ok(
        "Delete discount success!",
        DeletedDiscountDto {
            discount_code: code.trim().to_owned(),
        },
    ))
}

/// Gives back the calling customer's use of a code that belongs to no placed order (409 when
/// their uses belong to placed orders: those return when the order is cancelled; 404 when they
/// hold none).
#[utoipa::path(
    post, path = "/discounts/cancel", tag = "discounts",
    request_body = CancelUseBody,
    responses((status = 200, description = "The use was given back", body = Envelope<CancelledUseDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn cancel_discount_use(
    user: CustomerAuth,
    State(state): State<AppState>,
    Json(body): Json<CancelUseBody>,
) -> Result<Reply<CancelledUseDto>, AppError> {
    let discount = state
        .ecom
        .discounts
        .cancel_use(&user.customer_id, &body.shop_id, &body.code)
        .await?;
    let uses = state
        .ecom
        .discounts
        .uses_by(&user.customer_id, &discount.id)
        .await?;
    Ok(Reply::ok(
        "Cancel discount use success!",
        CancelledUseDto {
            discount_uses_by_user: uses,
            discount_code: discount.code,
            shop_id: discount.shop_id.to_string(),
        },
    ))
}
