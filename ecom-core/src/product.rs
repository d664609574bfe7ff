//! Products and their repository port.

use crate::category::{ancestors, is_within};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::error::Result;
use crate::event::Event;
use crate::id::{ProductId, ShopId};
use crate::inventory::StockState;
use crate::money::Money;
use crate::page::Page;
pub use crate::product_sort::{ProductCursor, ProductSort, SortKey};
use crate::search::SearchWords;
use crate::variant::{Model, Variation};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt::Debug;

/// What the services record of a product's stock ([`ProductRepo::record_stock`]).
#[derive(Clone, PartialEq, Debug)]
pub struct StockRecord {
    /// The product.
    pub product_id: ProductId,
    /// Units sold and whether it has free stock.
    pub state: StockState,
    /// Whether it is low on stock.
    pub low_stock: bool,
    /// The flags (`in_stock`, `low_stock`) the events were computed against.
    pub was: (bool, bool),
    /// The product's version the events were computed at (their aggregate's version): a
    /// record with events is written only while the product is still at it, so the events of
    /// a product stay in version order in its outbox.
    pub version: u64,
    /// The stock events of the flip (none: the flags did not move).
    pub events: Vec<Event>,
    /// When the record was computed: the product's change stamp
    /// ([`ProductRepo::changed_since`]) once written.
    pub at: Timestamp,
}

/// The low-stock threshold of products stored before it existed.
fn default_low_stock_threshold() -> u32 {
    5
}

/// Products stored before the in-stock flag existed count as in stock until refreshed.
fn in_stock_by_default() -> bool {
    true
}

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
    /// Unit price; with models, the lowest model price.
    pub price: Money,
    /// The quantity it was created with (stock lives in its inventory); with models, the sum
    /// of the models' stock.
    pub quantity: u32,
    /// The [`ProductKind`](crate::kind::ProductKind) name, e.g. `Clothing`.
    pub kind: String,
    /// Attributes, validated and normalized by the kind.
    pub attributes: Map<String, Value>,
    /// Average rating, 1.0..=5.0.
    pub rating: f64,
    /// Tiers of variation (at most two; see [`crate::variant`]).
    #[serde(default)]
    pub variations: Vec<Variation>,
    /// Its models, one per combination of options sold; empty for a product without
    /// variations (which has one price and one stock record of its own).
    #[serde(default)]
    pub models: Vec<Model>,
    /// Its category path (`Fashion/Men/T-Shirts`, see [`crate::category`]), if any.
    #[serde(default)]
    pub category: Option<String>,
    /// Units in live orders (placed, not cancelled). Read through the services it is exact:
    /// they take it from the product's stock record. The stored copy is what
    /// [`ProductSort::BestSelling`] orders by; the services refresh it after each settlement
    /// batch and each cancellation's restock, with one write per product, never one per order.
    #[serde(default)]
    pub sold: u64,
    /// Whether the product has free stock (its own record, or a live model's), as last
    /// recorded: what the catalogue's in-stock filter reads. Set at creation; the services
    /// refresh it with `sold`, after settlements, returns, restocks and adjustments (the
    /// checkout itself always asks the stock records).
    #[serde(default = "in_stock_by_default")]
    pub in_stock: bool,
    /// Whether its free stock was at or below [`Self::low_stock_threshold`] (and above zero)
    /// when last recorded, with `in_stock`.
    #[serde(default)]
    pub low_stock: bool,
    /// Free stock at or below which the product is low on stock (`stock.low`): its own, or
    /// the configured default ([`EcomConfig::low_stock_threshold`](crate::EcomConfig)) at
    /// creation.
    #[serde(default = "default_low_stock_threshold")]
    pub low_stock_threshold: u32,
    /// True until published.
    pub is_draft: bool,
    /// Visible to the public.
    pub is_published: bool,
    /// Search tokens of name, description and kind terms ([`crate::search::tokens`]).
    pub search_terms: Vec<String>,
    /// Incremented by every update; replaces are conditional on it.
    pub version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Product {
    /// Every price it sells at: its models' prices, or its one price.
    pub fn prices(&self) -> impl Iterator<Item = Money> + '_ {
        let own = self.models.is_empty().then_some(self.price);
        own.into_iter().chain(self.models.iter().map(|m| m.price))
    }

    /// Its highest price (its price without models).
    pub fn price_max(&self) -> Money {
        self.prices().max_by_key(|m| m.minor).unwrap_or(self.price)
    }

    /// The ids of its stock records: its models', or its own.
    pub fn stock_ids(&self) -> Vec<ProductId> {
        match self.models.is_empty() {
            true => vec![self.id.clone()],
            false => self.models.iter().map(|m| m.id.clone()).collect(),
        }
    }

    /// The model a line names: `None` for a product without models (which refuses a model
    /// id), the model for one with models (which requires one). Errors name `modelId`.
    pub fn model_of_line(&self, model: Option<&ProductId>) -> Result<Option<&Model>> {
        match (model, self.models.is_empty()) {
            (None, true) => Ok(None),
            (Some(_), true) => Err(Error::validation(
                "model_id",
                "this product has no models: leave modelId out",
            )),
            (None, false) => Err(Error::validation(
                "model_id",
                "this product has models: name one",
            )),
            (Some(id), false) => self
                .models
                .iter()
                .find(|m| &m.id == id)
                .map(Some)
                .ok_or_else(|| Error::validation("model_id", "no such model of this product")),
        }
    }
}

/// Which products a [`ProductQuery`] selects.
#[derive(Clone, PartialEq, Debug)]
pub enum ProductFilter {
    /// Published products the catalogue filter selects.
    Catalogue(CatalogueFilter),
    /// One shop's products, drafts or published ones.
    Shop {
        /// The shop.
        shop_id: ShopId,
        /// True for published, false for drafts.
        published: bool,
    },
}

/// The public catalogue's filters; every one is optional and they combine (all must hold).
/// Only published products are ever selected.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct CatalogueFilter {
    /// A category path: products in it or anywhere under it.
    pub category: Option<String>,
    /// One shop's products.
    pub shop: Option<ShopId>,
    /// One kind's products (the kind's registered name).
    pub kind: Option<String>,
    /// Lowest price, in minor units, inclusive (a product matches when any of its
    /// [`Product::prices`] is in the range).
    pub min_price: Option<i64>,
    /// Highest price, in minor units, inclusive.
    pub max_price: Option<i64>,
    /// Keywords: products matching at least one ([`SearchWords::score`] above 0).
    pub words: Option<SearchWords>,
    /// Only products with free stock ([`Product::in_stock`]).
    pub in_stock: bool,
}

impl CatalogueFilter {
    /// Whether `product` is selected: the one definition the memory backend applies and the
    /// others translate into queries.
    pub fn matches(&self, product: &Product) -> bool {
        product.is_published
            && self.category.as_ref().is_none_or(|c| {
                product
                    .category
                    .as_ref()
                    .is_some_and(|own| is_within(own, c))
            })
            && self.shop.as_ref().is_none_or(|s| &product.shop_id == s)
            && self.kind.as_ref().is_none_or(|k| &product.kind == k)
            && product.prices().any(|p| {
                self.min_price.is_none_or(|min| p.minor >= min)
                    && self.max_price.is_none_or(|max| p.minor <= max)
            })
            && self
                .words
                .as_ref()
                .is_none_or(|w| w.score(&product.search_terms) > 0)
            && (!self.in_stock || product.in_stock)
    }

    /// How well `product` matches the keywords (0 without keywords): the relevance sort's key.
    pub fn relevance(&self, product: &Product) -> u32 {
        self.words
            .as_ref()
            .map_or(0, |w| w.score(&product.search_terms))
    }
}

/// Counts of the products a [`CatalogueFilter`] selects, by category, kind and shop, and
/// their price range ([`ProductRepo::facets`]).
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Facets {
    /// How many products match.
    pub total: u64,
    /// Per category path, the matching products in it or under it (each product counts in its
    /// category and every one above), by path.
    pub categories: Vec<(String, u64)>,
    /// Per kind, by name.
    pub kinds: Vec<(String, u64)>,
    /// Per shop, by id.
    pub shops: Vec<(ShopId, u64)>,
    /// Lowest and highest price (of every model) among the matches; `None` when nothing
    /// matches.
    pub price: Option<(Money, Money)>,
}

impl Facets {
    /// The facets of `products` (all of them matching): the definition backends agree with.
    pub fn of<'a>(products: impl IntoIterator<Item = &'a Product>) -> Facets {
        use std::collections::BTreeMap;
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut shops: BTreeMap<ShopId, u64> = BTreeMap::new();
        let mut facets = Facets::default();
        for p in products {
            facets.total += 1;
            for path in p.category.as_deref().map(ancestors).unwrap_or_default() {
                *categories.entry(path).or_default() += 1;
            }
            *kinds.entry(p.kind.clone()).or_default() += 1;
            *shops.entry(p.shop_id.clone()).or_default() += 1;
            let (low, high) = (p.price, p.price_max());
            facets.price = Some(match facets.price {
                None => (low, high),
                Some((lo, hi)) => (
                    if low.minor < lo.minor { low } else { lo },
                    if high.minor > hi.minor { high } else { hi },
                ),
            });
        }
        facets.categories = categories.into_iter().collect();
        facets.kinds = kinds.into_iter().collect();
        facets.shops = shops.into_iter().collect();
        facets
    }
}

/// A list query over products.
#[derive(Clone, PartialEq, Debug)]
pub struct ProductQuery {
    /// What to select.
    pub filter: ProductFilter,
    /// In which order.
    pub sort: ProductSort,
    /// Which window: `page.skip` items are skipped after `after`, if any (the API takes a
    /// page number or a cursor, never both).
    pub page: Page,
    /// Only the products after this cursor of `sort` ([`ProductQuery::is_after`]).
    pub after: Option<ProductCursor>,
}

impl ProductQuery {
    /// The order of this query's results: its sort's key, then id descending (the one rule
    /// the memory backend sorts by, MongoDB's sort documents follow, and the catalogue's
    /// read model keeps its orders in).
    pub fn compare(&self, a: &Product, b: &Product) -> Ordering {
        self.order((self.key_of(a), &a.id), (self.key_of(b), &b.id))
    }

    /// `product`'s key in this query's sort.
    pub fn key_of(&self, product: &Product) -> SortKey {
        match self.sort {
            ProductSort::Newest => SortKey::At(product.created_at),
            ProductSort::RecentlyUpdated => SortKey::At(product.updated_at),
            ProductSort::PriceAsc | ProductSort::PriceDesc => SortKey::Price(product.price.minor),
            ProductSort::BestSelling => SortKey::Sold(product.sold),
            ProductSort::Relevance => {
                let score = match &self.filter {
                    ProductFilter::Catalogue(c) => c.relevance(product),
                    ProductFilter::Shop { .. } => 0,
                };
                SortKey::Relevance(score, product.created_at)
            }
        }
    }

    /// The order of two positions (key, id) in this query's sort: what [`compare`]
    /// (Self::compare) and [`is_after`](Self::is_after) share.
    fn order(&self, a: (SortKey, &ProductId), b: (SortKey, &ProductId)) -> Ordering {
        let primary = match (a.0, b.0) {
            (SortKey::At(a), SortKey::At(b)) => b.cmp(&a),
            (SortKey::Price(a), SortKey::Price(b)) if self.sort == ProductSort::PriceAsc => {
                a.cmp(&b)
            }
            (SortKey::Price(a), SortKey::Price(b)) => b.cmp(&a),
            (SortKey::Sold(a), SortKey::Sold(b)) => b.cmp(&a),
            (SortKey::Relevance(a, at_a), SortKey::Relevance(b, at_b)) => {
                b.cmp(&a).then_with(|| at_b.cmp(&at_a))
            }
            // Keys of different sorts never meet: `key_of` and `ProductCursor::parse` make
            // them for the query's sort.
            _ => Ordering::Equal,
        };
        primary.then_with(|| b.1.cmp(a.1))
    }

    /// Whether `product` comes after the query's cursor (every product does without one).
    pub fn is_after(&self, product: &Product) -> bool {
        self.after.as_ref().is_none_or(|after| {
            self.order((self.key_of(product), &product.id), (after.key, &after.id))
                == Ordering::Greater
        })
    }

    /// The cursor a page ending at `product` hands on: the next page starts after it.
    pub fn cursor_of(&self, product: &Product) -> ProductCursor {
        ProductCursor {
            sort: self.sort,
            key: self.key_of(product),
            id: product.id.clone(),
        }
    }
}

/// Storage of products.
#[async_trait]
pub trait ProductRepo: Send + Sync + Debug + 'static {
    /// Inserts a product; [`Error::AlreadyExists`] if the id exists.
    async fn insert(&self, product: &Product) -> Result<()>;

    /// The product with `id`, if any.
    async fn get(&self, id: &ProductId) -> Result<Option<Product>>;

    /// The products among `ids` that exist, in any order.
    async fn get_many(&self, ids: &[ProductId]) -> Result<Vec<Product>>;

    /// Replaces the stored product with `product` only if the stored `version` is
    /// `expected_version` (compare-and-set), all but the stored `sold`, `in_stock` and
    /// `low_stock` (which only [`Self::record_stock`] writes), and in the same atomic write
    /// appends `events` to its outbox. [`Error::NotFound`] if
    /// missing, [`Error::Conflict`] if the version moved.
    async fn replace(
        &self,
        product: &Product,
        expected_version: u64,
        events: &[Event],
    ) -> Result<()>;

    /// The products `query` selects, sorted and paged.
    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>>;

    /// How many products `filter` selects.
    async fn count(&self, filter: &ProductFilter) -> Result<u64>;

    /// The facets of the products `filter` selects.
    async fn facets(&self, filter: &CatalogueFilter) -> Result<Facets>;

    /// Stores each product's units sold (the copy [`ProductSort::BestSelling`] orders by) and
    /// stock flags (the in-stock filter's, and low stock). Each record is written only if the
    /// flags stored are still the ones it saw ([`StockRecord::was`]), and a record with events
    /// only if the product is still at [`StockRecord::version`], its events appended to the
    /// product's outbox in the same atomic write: a flip is announced once, by the refresh that
    /// made it, and a refresh that read older stock never writes over a newer one's flags.
    /// Returns how many records were written (the others saw flags or a version that moved, or
    /// a product that no longer exists).
    async fn record_stock(&self, records: &[StockRecord]) -> Result<u64>;

    /// Published products with an id above `after` (from the first when `None`), by id
    /// ascending, at most `limit`: the paged read that loads the catalogue's read model.
    async fn published_after(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<Product>>;

    /// Products, published or not, whose change stamp is at or after `since`, at most
    /// `limit`, in any order: what the catalogue's read model polls to follow every process's
    /// writes. Every write stamps the product: [`Self::insert`] and [`Self::replace`] with the
    /// product's `updated_at`, [`Self::record_stock`] with the record's `at`.
    async fn changed_since(&self, since: Timestamp, limit: u32) -> Result<Vec<Product>>;
}
