//! Short-lived answers of the public catalogue ([`EcomConfig::catalogue_cache`]): listings,
//! facets and the category tree, each kept for at most the configured time, keyed by the
//! whole query. Concurrent misses of one key run one store query and share its answer
//! (moka's `try_get_with`), so a rush on one listing costs the store one query per period.
//! Any product write through this process drops everything (a shop sees its own change at
//! once); sales, stock changes and other processes' writes show within the period.

use super::query::Listing;
use crate::category::CategoryNode;
use crate::error::{Error, Result};
use crate::product::Facets;
use crate::service::config::EcomConfig;
use moka::future::Cache;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Most products kept in listings at once (about 1 KiB each): a client walking many pages or
/// filters within one period evicts older answers rather than growing the process.
const LISTED_PRODUCTS: u64 = 20_000;
/// Most facet rows (categories, kinds, shops) kept at once.
const FACET_ROWS: u64 = 200_000;

/// The cached answers of one process.
#[derive(Clone, Debug)]
pub(crate) struct CatalogueCache {
    listings: Cache<String, Listing>,
    facets: Cache<String, Facets>,
    categories: Cache<(), Vec<CategoryNode>>,
}

impl CatalogueCache {
    /// A cache keeping answers for `config.catalogue_cache`, or `None` when that is zero.
    pub(crate) fn of(config: &EcomConfig) -> Option<Arc<Self>> {
        let ttl: Duration = config.catalogue_cache;
        if ttl.is_zero() {
            return None;
        }
        Some(Arc::new(CatalogueCache {
            listings: Cache::builder()
                .max_capacity(LISTED_PRODUCTS)
                .weigher(|_, listing: &Listing| weight(listing.products.len()))
                .time_to_live(ttl)
                .build(),
            facets: Cache::builder()
                .max_capacity(FACET_ROWS)
                .weigher(|_, f: &Facets| weight(f.categories.len() + f.kinds.len() + f.shops.len()))
                .time_to_live(ttl)
                .build(),
            categories: Cache::builder().time_to_live(ttl).build(),
        }))
    }

    /// The listing of `key`, from the cache or from `load`.
    pub(crate) async fn listing(
        &self,
        key: String,
        load: impl Future<Output = Result<Listing>>,
    ) -> Result<Listing> {
        self.listings.try_get_with(key, load).await.map_err(shared)
    }

    /// The facets of `key`, from the cache or from `load`.
    pub(crate) async fn facets(
        &self,
        key: String,
        load: impl Future<Output = Result<Facets>>,
    ) -> Result<Facets> {
        self.facets.try_get_with(key, load).await.map_err(shared)
    }

    /// The category tree, from the cache or from `load`.
    pub(crate) async fn categories(
        &self,
        load: impl Future<Output = Result<Vec<CategoryNode>>>,
    ) -> Result<Vec<CategoryNode>> {
        self.categories.try_get_with((), load).await.map_err(shared)
    }

    /// Drops every answer (a product changed).
    pub(crate) fn clear(&self) {
        self.listings.invalidate_all();
        self.facets.invalidate_all();
        self.categories.invalidate_all();
    }
}

/// An answer's weight: its rows, plus one for the answer itself.
fn weight(rows: usize) -> u32 {
    u32::try_from(rows).unwrap_or(u32::MAX).saturating_add(1)
}

fn shared(e: Arc<Error>) -> Error {
    e.replicate()
}
