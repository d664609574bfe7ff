//! The public catalogue beyond product lists: facets, the category tree and shop storefronts.

use crate::dto::catalogue::{CategoryDto, FacetsDto, StorefrontDto};
use crate::dto::product::{products, CatalogueParams, ProductDto};
use crate::envelope::{Envelope, Reply};
use crate::error::AppError;
use crate::extract::{PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use ecom_core::id::ShopId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The catalogue routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(product_facets))
        .routes(routes!(categories))
        .routes(routes!(storefront))
        .routes(routes!(shop_products))
}

/// Counts of the published products the filters select, by category, type and shop, and
/// their price range (the filters of `/products/all`; `limit`, `page` and `sort` are ignored).
#[utoipa::path(
    get, path = "/products/facets", tag = "catalogue",
    params(CatalogueParams),
    responses((status = 200, description = "Facets of the matches", body = Envelope<FacetsDto>)),
    security(("api_key" = []))
)]
pub async fn product_facets(
    State(state): State<AppState>,
    Query(query): Query<CatalogueParams>,
) -> Result<Reply<FacetsDto>, AppError> {
    let query = query.into_query(state.ecom.config().currency)?;
    let facets = state.ecom.catalogue.facets(&query).await?;
    Ok(Reply::ok("Get product facets success!", facets.into()))
}

/// The tree of categories that have published products, each with its count (products in it
/// or under it); roots and children by name.
#[utoipa::path(
    get, path = "/categories", tag = "catalogue",
    responses((status = 200, description = "The category tree", body = Envelope<Vec<CategoryDto>>)),
    security(("api_key" = []))
)]
pub async fn categories(
    State(state): State<AppState>,
) -> Result<Reply<Vec<CategoryDto>>, AppError> {
    let tree = state.ecom.catalogue.categories().await?;
    Ok(Reply::ok(
        "Get categories success!",
        tree.into_iter().map(CategoryDto::from).collect(),
    ))
}

/// A shop's public face: its name, published products and sign-up time. 404 for no such shop.
#[utoipa::path(
    get, path = "/shops/{shopId}", tag = "catalogue",
    params(("shopId" = String, Path, description = "The shop id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The storefront", body = Envelope<StorefrontDto>)),
    security(("api_key" = []))
)]
pub async fn storefront(
    State(state): State<AppState>,
    PathId(shop): PathId<ShopId>,
) -> Result<Reply<StorefrontDto>, AppError> {
    let front = state.ecom.catalogue.storefront(&shop).await?;
    Ok(Reply::ok("Get shop success!", front.into()))
}

/// A shop's published products, with the filters, sorts and `x-total-count` of
/// `/products/all` (a `shop` filter naming another shop matches nothing). 404 for no such shop.
#[utoipa::path(
    get, path = "/shops/{shopId}/products", tag = "catalogue",
    params(
        ("shopId" = String, Path, description = "The shop id (32 lowercase hex characters)", pattern = "^[0-9a-f]{32}$"),
        CatalogueParams
    ),
    responses((status = 200, description = "The shop's published products", body = Envelope<Vec<ProductDto>>,
        headers(("x-total-count" = u64, description = "Matching products over all pages"),
            ("x-next-cursor" = String, description = "After a full page: `after` for the next page")))),
    security(("api_key" = []))
)]
pub async fn shop_products(
    State(state): State<AppState>,
    PathId(shop): PathId<ShopId>,
    Query(query): Query<CatalogueParams>,
) -> Result<Reply<Vec<ProductDto>>, AppError> {
    let query = query.into_query(state.ecom.config().currency)?;
    let listing = state.ecom.catalogue.browse_shop(&shop, &query).await?;
    Ok(
        Reply::ok("Get shop products success!", products(listing.products))
            .with_total(listing.total)
            .with_next(listing.next.map(|n| n.encode())),
    )
}
