//! What the catalogue is asked for and what it answers.

use crate::clock::Timestamp;
use crate::id::ShopId;
use crate::money::Money;
use crate::page::Page;
use crate::product::ProductCursor;
use crate::product::{CatalogueFilter, Product, ProductFilter, ProductQuery, ProductSort};

/// What [`CatalogueService::browse`](super::CatalogueService::browse) and
/// [`CatalogueService::facets`](super::CatalogueService::facets) select: every field is
/// optional and they combine. Build one with `CatalogueQuery::default()` and struct update.
///
/// ```
/// use ecom_core::product::ProductSort;
/// use ecom_core::service::CatalogueQuery;
///
/// let tees = CatalogueQuery {
///     category: Some("Fashion/Men".into()),
///     q: Some("cotton te".into()),
///     in_stock: true,
///     sort: ProductSort::Relevance,
///     ..CatalogueQuery::default()
/// };
/// assert!(tees.shop.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogueQuery {
    /// A category path: products in it or anywhere under it (errors name `category`).
    pub category: Option<String>,
    /// One shop's products.
    pub shop: Option<ShopId>,
    /// One kind's products (a registered kind's name; errors name `type`).
    pub kind: Option<String>,
    /// Lowest price, inclusive (errors name `min_price`).
    pub min_price: Option<Money>,
    /// Highest price, inclusive (errors name `max_price`).
    pub max_price: Option<Money>,
    /// Keywords ([`crate::search`]): products matching at least one (errors name `q`).
    pub q: Option<String>,
    /// Only products with free stock.
    pub in_stock: bool,
    /// Order of the listing (facets ignore it).
    pub sort: ProductSort,
    /// Window of the listing (facets ignore it): `page.skip` items are skipped after `after`.
    pub page: Page,
    /// Only the products after this cursor (a [`Listing::next`] of the same sort).
    pub after: Option<ProductCursor>,
}

/// One page of a listing and how many products match in all.
#[derive(Clone, Debug, PartialEq)]
pub struct Listing {
    /// The page.
    pub products: Vec<Product>,
    /// Every match, over all pages.
    pub total: u64,
    /// Where the next page starts (`after`), when this page is full: a listing may hold more
    /// after it. `None` on a shorter page, which is the last.
    pub next: Option<ProductCursor>,
}

impl Listing {
    /// The page `products` of `query` (its filter resolved to `filter`), `total` matching.
    pub(crate) fn of(
        filter: CatalogueFilter,
        query: &CatalogueQuery,
        products: Vec<Product>,
        total: u64,
    ) -> Listing {
        let full = products.len() >= query.page.limit as usize;
        let next = products.last().filter(|_| full).map(|last| {
            ProductQuery {
                filter: ProductFilter::Catalogue(filter),
                sort: query.sort,
                page: query.page,
                after: None,
            }
            .cursor_of(last)
        });
        Listing {
            products,
            total,
            next,
        }
    }
}

/// A shop's public face.
#[derive(Clone, Debug, PartialEq)]
pub struct Storefront {
    /// The shop.
    pub id: ShopId,
    /// Its name.
    pub name: String,
    /// Its published products.
    pub product_count: u64,
    /// When it signed up.
    pub created_at: Timestamp,
}
