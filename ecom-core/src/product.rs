//! Products and their repository port.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{ProductId, ShopId};
use crate::money::Money;
use crate::page::Page;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt::Debug;

/// A product a shop sells.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Product {
    /// The id (its inventory has the same).
    pub id: ProductId,
    /// The owning shop.
    pub shop_id: ShopId,
    /// Name.
    pub name: String,
    /// URL slug derived from the name.
    pub slug: String,
    /// Thumbnail URL or path.
    pub thumb: String,
    /// Description (may be empty).
    pub description: String,
    /// Unit price.
    pub price: Money,
    /// The quantity it was created with (stock lives in its inventory).
    pub quantity: u32,
    /// The [`ProductKind`](crate::kind::ProductKind) name, e.g. `Clothing`.
    pub kind: String,
    /// Attributes, validated and normalized by the kind.
    pub attributes: Map<String, Value>,
    /// Average rating, 1.0..=5.0.
    pub rating: f64,
    /// Variations (free-form).
    pub variations: Vec<Value>,
    /// True until published.
    pub is_draft: bool,
    /// Visible to the public.
    pub is_published: bool,
    /// Lowercased words of name, description and kind terms, for keyword search.
    pub search_terms: Vec<String>,
    /// Incremented by every update; replaces are conditional on it.
    pub version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Which products a [`ProductQuery`] selects.
#[derive(Clone, PartialEq, Debug)]
pub enum ProductFilter {
    /// Every published product.
    Published,
    /// Published products whose `search_terms` contain every one of `terms`.
    Search {
        /// Normalized (lowercased) words; all must match.
        terms: Vec<String>,
    },
    /// One shop's products, drafts or published ones.
    Shop {
        /// The shop.
        shop_id: ShopId,
        /// True for published, false for drafts.
        published: bool,
    },
}

/// Order of a product list. Ties are broken by id, descending, so pages are stable.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ProductSort {
    /// Newest first by `created_at`.
    #[default]
    Newest,
    /// Most recently updated first (shop lists).
    RecentlyUpdated,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
}

/// A list query over products.
#[derive(Clone, PartialEq, Debug)]
pub struct ProductQuery {
    /// What to select.
    pub filter: ProductFilter,
    /// In which order.
    pub sort: ProductSort,
    /// Which window.
    pub page: Page,
}

/// Storage of products.
#[async_trait]
pub trait ProductRepo: Send + Sync + Debug + 'static {
    /// Inserts a product; [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the id exists.
    async fn insert(&self, product: &Product) -> Result<()>;

    /// The product with `id`, if any.
    async fn get(&self, id: &ProductId) -> Result<Option<Product>>;

    /// The products among `ids` that exist, in any order.
    async fn get_many(&self, ids: &[ProductId]) -> Result<Vec<Product>>;

    /// Replaces the stored product with `product` only if the stored `version` is
    /// `expected_version` (compare-and-set). [`Error::NotFound`](crate::Error::NotFound) if
    /// missing, [`Error::Conflict`](crate::Error::Conflict) if the version moved.
    async fn replace(&self, product: &Product, expected_version: u64) -> Result<()>;

    /// The products `query` selects, sorted and paged.
    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>>;
}
