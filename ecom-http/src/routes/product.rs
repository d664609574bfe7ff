//! Products: public lists, search and detail; a shop's create, patch, publish and own lists.

use crate::dto::product::{
    products, CatalogueParams, CreateProductBody, ListQuery, PatchProductBody, ProductDto,
    ShopListQuery,
};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{Json, PathId, PathText, Query, ShopAuth, Viewer};
use crate::fields::{wire, Area};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::id::ProductId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The product routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(search_products))
        .routes(routes!(get_product))
        .routes(routes!(create_product))
        .routes(routes!(update_product))
        .routes(routes!(publish_product))
        .routes(routes!(unpublish_product))
        .routes(routes!(list_drafts))
        .routes(routes!(list_published))
}

/// Published products, filtered, sorted and paged; `x-total-count` gives the number of
/// matches over all pages, and after a full page `x-next-cursor` the `after` of the next
/// (exact at any depth, at the cost of one page).
#[utoipa::path(
    get, path = "/products/all", tag = "products",
    params(CatalogueParams),
    responses((status = 200, description = "Published products", body = Envelope<Vec<ProductDto>>,
        headers(("x-total-count" = u64, description = "Matching products over all pages"),
            ("x-next-cursor" = String, description = "After a full page: `after` for the next page")))),
    security(("api_key" = []))
)]
pub async fn list_products(
    State(state): State<AppState>,
    Query(query): Query<CatalogueParams>,
) -> Result<Reply<Vec<ProductDto>>, AppError> {
    let query = query.into_query(state.ecom.config().currency)?;
    let listing = state.ecom.catalogue.browse(&query).await?;
    Ok(
        Reply::ok("Get list products success!", products(listing.products))
            .with_total(listing.total)
            .with_next(listing.next.map(|n| n.encode())),
    )
}

/// Published products matching the words of `keySearch`: most words matched first, then
/// newest; the last word also matches as a prefix; case and accent insensitive (`cafe` finds
/// `Café`). `x-total-count` gives the number of matches.
#[utoipa::path(
    get, path = "/products/search/{keySearch}", tag = "products",
    params(
        ("keySearch" = String, Path, min_length = 1, max_length = 1000,
            description = "1 to 10 distinct words to find (runs of letters and digits; each cut to 30 characters), at most 1000 characters; no word, or more than 10, is a 400"),
        ListQuery
    ),
    responses((status = 200, description = "Matching published products", body = Envelope<Vec<ProductDto>>,
        headers(("x-total-count" = u64, description = "Matching products over all pages")))),
    security(("api_key" = []))
)]
pub async fn search_products(
    State(state): State<AppState>,
    PathText(text): PathText,
    Query(query): Query<ListQuery>,
) -> Result<Reply<Vec<ProductDto>>, AppError> {
    let listing = state
        .ecom
        .catalogue
        .search(&text, query.page()?)
        .await
        .map_err(wire(Area::Search))?;
    Ok(Reply::ok("Search products success!", products(listing.products)).with_total(listing.total))
}

/// One product: published ones for everyone; a draft only for its owner shop (send the shop's
/// `x-client-id` and `authorization`). Anything else is 404.
#[utoipa::path(
    get, path = "/products/{productId}", tag = "products",
    params(("productId" = String, Path, description = "The product id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The product", body = Envelope<ProductDto>)),
    security(("api_key" = []), ("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn get_product(
    viewer: Viewer,
    State(state): State<AppState>,
    PathId(id): PathId<ProductId>,
) -> Result<Reply<ProductDto>, AppError> {
    let product = state.ecom.products.get(&id, viewer.0.as_ref()).await?;
    Ok(Reply::ok("Get product success!", product.into()))
}

/// Creates a draft product of the calling shop, with an inventory of `product_quantity`.
#[utoipa::path(
    post, path = "/products", tag = "products",
    request_body = CreateProductBody,
    responses((status = 201, description = "The new draft", body = Envelope<ProductDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn create_product(
    shop: ShopAuth,
    State(state): State<AppState>,
    Json(body): Json<CreateProductBody>,
) -> Result<Reply<ProductDto>, AppError> {
    let currency = state.ecom.config().currency;
    let input = body.into_new_product(currency);
    let product = async { state.ecom.products.create(&shop.shop_id, input?).await }
        .await
        .map_err(wire(Area::Products))?;
    Ok(Reply::created(
        "Create new Product success!",
        product.into(),
    ))
}

/// Partially updates one of the calling shop's products.
#[utoipa::path(
    patch, path = "/products/{productId}", tag = "products",
    params(("productId" = String, Path, description = "The product id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    request_body = PatchProductBody,
    responses((status = 200, description = "The updated product", body = Envelope<ProductDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn update_product(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ProductId>,
    Json(body): Json<PatchProductBody>,
) -> Result<Reply<ProductDto>, AppError> {
    let currency = state.ecom.config().currency;
    let patch = body.into_patch(currency);
    let product = async { state.ecom.products.update(&shop.shop_id, &id, patch?).await }
        .await
        .map_err(wire(Area::Products))?;
    Ok(Reply::ok("Update Product success!", product.into()))
}

/// Publishes one of the calling shop's products.
#[utoipa::path(
    post, path = "/products/publish/{productId}", tag = "products",
    params(("productId" = String, Path, description = "The product id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The published product", body = Envelope<ProductDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn publish_product(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ProductId>,
) -> Result<Reply<ProductDto>, AppError> {
    let product = state.ecom.products.publish(&shop.shop_id, &id).await?;
    Ok(Reply::ok("Publish product success!", product.into()))
}

/// Takes one of the calling shop's products back to draft.
#[utoipa::path(
    post, path = "/products/unpublish/{productId}", tag = "products",
    params(("productId" = String, Path, description = "The product id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The product, now a draft", body = Envelope<ProductDto>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn unpublish_product(
    shop: ShopAuth,
    State(state): State<AppState>,
    PathId(id): PathId<ProductId>,
) -> Result<Reply<ProductDto>, AppError> {
    let product = state.ecom.products.unpublish(&shop.shop_id, &id).await?;
    Ok(Reply::ok("Unpublish product success!", product.into()))
}

/// The calling shop's drafts, most recently updated first.
#[utoipa::path(
    get, path = "/products/draft/all", tag = "products",
    params(ShopListQuery),
    responses((status = 200, description = "Drafts", body = Envelope<Vec<ProductDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_drafts(
    shop: ShopAuth,
    State(state): State<AppState>,
    Query(query): Query<ShopListQuery>,
) -> Result<Reply<Vec<ProductDto>>, AppError> {
    let list = state
        .ecom
        .products
        .list_drafts(&shop.shop_id, query.page()?)
        .await?;
    Ok(Reply::ok("Get list drafts success!", products(list)))
}

/// The calling shop's published products, most recently updated first.
#[utoipa::path(
    get, path = "/products/published/all", tag = "products",
    params(ShopListQuery),
    responses((status = 200, description = "Published products of the shop", body = Envelope<Vec<ProductDto>>)),
    security(("api_key" = [], "client_id" = [], "access_token" = []))
)]
pub async fn list_published(
    shop: ShopAuth,
    State(state): State<AppState>,
    Query(query): Query<ShopListQuery>,
) -> Result<Reply<Vec<ProductDto>>, AppError> {
    let list = state
        .ecom
        .products
        .list_published_of_shop(&shop.shop_id, query.page()?)
        .await?;
    Ok(Reply::ok("Get list published success!", products(list)))
}
