//! Short-lived answers of the public catalogue ([`EcomConfig::catalogue_cache`]): listings,
//! facets and the category tree, each kept for at most the configured time, keyed by the
//! whole query. Concurrent misses of one key run one store query and share its answer
//! (moka's `try_get_with`), so a rush on one listing costs the store one query per period.
//! Any product write through this process drops everything (a shop sees its own change at
//! once); sales, stock changes and other processes' writes show within the period.
//!
//! Every key carries the cache's generation, which each drop moves on: a fill that was
//! already in flight when a write dropped the cache stores its (older) answer under the old
//! generation, where no later read looks, so it can never be served after the write.

use super::query::Listing;
use crate::category::CategoryNode;
use crate::error::{Error, Result};
use crate::product::Facets;
use crate::service::config::EcomConfig;
use moka::future::Cache;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Most products kept in listings at once (about 1 KiB each): a client walking many pages or
/// filters within one period evicts older answers rather than growing the process.
const LISTED_PRODUCTS: u64 = 20_000;
/// Most facet rows (categories, kinds, shops) kept at once.
const FACET_ROWS: u64 = 200_000;

/// The cached answers of one process.
#[derive(Debug)]
pub(crate) struct CatalogueCache {
    listings: Cache<(u64, String), Listing>,
    facets: Cache<(u64, String), Facets>,
    categories: Cache<u64, Vec<CategoryNode>>,
    /// Moved on by every drop; part of every key.
    generation: AtomicU64,
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
            generation: AtomicU64::new(0),
        }))
    }

    /// The listing of `key`, from the cache or from `load`.
    pub(crate) async fn listing(
        &self,
        key: String,
        load: impl Future<Output = Result<Listing>>,
    ) -> Result<Listing> {
        self.listings
            .try_get_with((self.generation(), key), load)
            .await
            .map_err(shared)
    }

    /// The facets of `key`, from the cache or from `load`.
    pub(crate) async fn facets(
        &self,
        key: String,
        load: impl Future<Output = Result<Facets>>,
    ) -> Result<Facets> {
        self.facets
            .try_get_with((self.generation(), key), load)
            .await
            .map_err(shared)
    }

    /// The category tree, from the cache or from `load`.
    pub(crate) async fn categories(
        &self,
        load: impl Future<Output = Result<Vec<CategoryNode>>>,
    ) -> Result<Vec<CategoryNode>> {
        self.categories
            .try_get_with(self.generation(), load)
            .await
            .map_err(shared)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Drops every answer (a product changed), including fills in flight.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
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
