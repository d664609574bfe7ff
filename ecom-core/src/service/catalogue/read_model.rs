//! The catalogue's read model ([`EcomConfig::catalogue_index`](crate::EcomConfig)): an index
//! of the published catalogue in this process, loaded from the store in pages and kept up with
//! the writes of every process sharing the store.
//!
//! **Catching up.** Every write of a product stamps it (`ProductRepo::changed_since`: inserts
//! and replaces with the product's `updated_at`, stock records with their time), so the model
//! polls the products changed since its last poll began, less [`OVERLAP`] (for clocks of
//! several processes that disagree and writes that take a while to land), and takes them in.
//! Polls run on demand, driven by reads: a read that finds the last poll older than
//! [`POLL_EVERY`] starts one in the background and answers at once; a read waits only when the
//! last poll began more than [`STALENESS`] plus the time that poll took (at most [`MAX_LAG`])
//! before it arrived (concurrent reads share one poll), or began before a write of this
//! process that the index could not take in directly. A store slow to answer polls thus
//! delays what reads see by about one poll, instead of making every read wait for one.
//! Read-your-writes: each `Ecom`'s product port is wrapped (`CountedWrites`) so that its own
//! inserts and replaces are applied to the index as they finish (a version older than the one
//! held, or than the one a product left at, never replaces it), and so are stock refreshes that
//! only move units sold; a failed write, a refresh that moves a product in or out of stock, or
//! a write during a whole read of the catalogue is counted instead, and the next read waits for
//! a poll that began after it. With no reads, nothing polls. So an answer holds every write
//! any process finished [`STALENESS`] (plus the last poll's duration, at most [`MAX_LAG`])
//! before the request (given clocks within [`OVERLAP`]), and every write of its own process.
//! Every [`RESYNC`] the whole catalogue is read again in the background and swapped in, which
//! repairs anything a poll could have missed (a write that took longer than [`OVERLAP`]).

use super::index::Index;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::event::Event;
use crate::id::ProductId;
use crate::product::{
    CatalogueFilter, Facets, Product, ProductFilter, ProductQuery, ProductRepo, StockRecord,
};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The oldest poll a read may be answered after: an answer holds every write finished this
/// long before the request.
pub const STALENESS: Duration = Duration::from_millis(500);
/// The most a slow poll adds to [`STALENESS`]: past it, reads wait for the store however slow
/// it is.
pub const MAX_LAG: Duration = Duration::from_secs(1);
/// How often reads start a poll in the background (reads answer meanwhile).
pub const POLL_EVERY: Duration = Duration::from_millis(200);
/// How far back each poll reaches before the previous one began: the largest difference
/// between two processes' clocks plus the longest write it allows.
pub const OVERLAP: Duration = Duration::from_secs(3);
/// How often the whole catalogue is read again.
pub const RESYNC: Duration = Duration::from_secs(600);
/// Products per page of a full load. Large: a store that sorts every remaining match before
/// cutting a page (secantusd-rs) reads about `products² / (2 * LOAD_PAGE)` documents for a
/// load, where a real MongoDB reads each once.
const LOAD_PAGE: u32 = 20_000;
/// Most changes one poll takes; more is read as a full load.
const POLL_LIMIT: u32 = 20_000;

/// Where the polls stand.
#[derive(Debug)]
struct Progress {
    /// The store time the next poll reads from.
    since: Option<Timestamp>,
    /// When the catalogue was last read whole.
    loaded_at: Option<Instant>,
}

/// What the last finished poll covers.
#[derive(Debug, Clone, Copy)]
struct Fresh {
    /// When it began.
    began: Instant,
    /// The own writes finished before it began.
    own_writes: u64,
    /// How long it took.
    took: Duration,
}

/// The read model of one process (see the module doc).
#[derive(Debug)]
pub(crate) struct ReadModel {
    /// The store's products (not the write-counting wrapper).
    products: Arc<dyn ProductRepo>,
    backend: Backend,
    index: Arc<RwLock<Index>>,
    /// One poll at a time; readers that find it busy wait for it.
    progress: tokio::sync::Mutex<Progress>,
    fresh: Mutex<Option<Fresh>>,
    /// Product writes of this process, counted when they finish.
    own_writes: Arc<AtomicU64>,
    resyncing: AtomicBool,
    /// A whole read of the catalogue is under way (a first load, or a resync): the index it
    /// builds will replace the current one, so own writes meanwhile are counted, not applied.
    loading: Arc<AtomicBool>,
    /// A background poll is under way.
    polling: AtomicBool,
}

impl ReadModel {
    /// A read model over `backend`'s products, and the backend the services should use: the
    /// same, with its product writes counted (read-your-writes).
    pub(crate) fn new(backend: Backend) -> (Arc<Self>, Backend) {
        let own_writes = Arc::new(AtomicU64::new(0));
        let index = Arc::new(RwLock::new(Index::default()));
        let loading = Arc::new(AtomicBool::new(false));
        let mut counted = backend.clone();
        counted.products = Arc::new(CountedWrites {
            inner: backend.products.clone(),
            writes: own_writes.clone(),
            index: index.clone(),
            loading: loading.clone(),
        });
        let model = Arc::new(ReadModel {
            products: backend.products.clone(),
            backend,
            index,
            progress: tokio::sync::Mutex::new(Progress {
                since: None,
                loaded_at: None,
            }),
            fresh: Mutex::new(None),
            own_writes,
            resyncing: AtomicBool::new(false),
            loading,
            polling: AtomicBool::new(false),
        });
        (model, counted)
    }

    /// Runs `read` on the index once it is fresh enough for a request arriving now.
    pub(crate) async fn read<T>(self: &Arc<Self>, read: impl FnOnce(&Index) -> T) -> Result<T> {
        self.catch_up().await?;
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        Ok(read(&index))
    }

    /// Whether a read arriving at `arrived` after `own` own writes may be answered now (see
    /// the module doc).
    fn is_fresh(&self, arrived: Instant, own: u64) -> bool {
        let fresh = *self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        fresh.is_some_and(|f| {
            f.own_writes >= own && f.began + STALENESS + f.took.min(MAX_LAG) >= arrived
        })
    }

    /// Starts a poll in the background when the last began [`POLL_EVERY`] ago and none is
    /// under way.
    fn poll_if_due(self: &Arc<Self>) {
        let due = self
            .fresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|f| f.began.elapsed() >= POLL_EVERY);
        if !due || self.polling.swap(true, Ordering::SeqCst) {
            return;
        }
        let model = self.clone();
        tokio::spawn(async move {
            if let Ok(mut progress) = model.progress.try_lock() {
                if let Err(e) = model.poll(&mut progress).await {
                    tracing::warn!(error = %e, "polling the catalogue's changes failed; the next read retries");
                }
            }
            model.polling.store(false, Ordering::SeqCst);
        });
    }

    /// Waits until a poll that began at most [`STALENESS`] ago, after this process's finished
    /// writes, has been taken in: joining one under way or running one.
    async fn catch_up(self: &Arc<Self>) -> Result<()> {
        let arrived = Instant::now();
        let own = self.own_writes.load(Ordering::SeqCst);
        // A poll due starts first, so that a read right after a slow one answers while the
        // next is under way instead of waiting for it.
        self.poll_if_due();
        if self.is_fresh(arrived, own) {
            self.resync_if_due();
            return Ok(());
        }
        // The poll (a full load, first) runs as its own task: a request that gives up (the
        // server's timeout) does not abandon it half-way for the next to start again.
        let model = self.clone();
        let poll = tokio::spawn(async move {
            let mut progress = model.progress.lock().await;
            if model.is_fresh(arrived, own) {
                return Ok(());
            }
            model.poll(&mut progress).await
        });
        poll.await
            .map_err(|e| crate::error::Error::backend(format!("catalogue poll: {e}")))?
    }

    /// One poll (or the first load), holding the progress lock.
    async fn poll(&self, progress: &mut Progress) -> Result<()> {
        let began = Instant::now();
        let own_writes = self.own_writes.load(Ordering::SeqCst);
        let now = self.backend.clock.now();
        let changes = match progress.since {
            Some(since) => self.products.changed_since(since, POLL_LIMIT).await?,
            None => Vec::new(),
        };
        let changed = changes.len();
        if progress.since.is_none() || changed >= POLL_LIMIT as usize {
            let index = self.load().await?;
            *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
            progress.loaded_at = Some(began);
        } else if !changes.is_empty() {
            self.index
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .apply(changes);
        }
        tracing::debug!(
            changes = changed,
            took_ms = began.elapsed().as_millis(),
            "catalogue poll"
        );
        progress.since = Some(now - overlap());
        *self.fresh.lock().unwrap_or_else(|e| e.into_inner()) = Some(Fresh {
            began,
            own_writes,
            took: began.elapsed(),
        });
        Ok(())
    }

    /// Every published product, read in pages (own writes meanwhile are counted).
    async fn load(&self) -> Result<Index> {
        self.loading.store(true, Ordering::SeqCst);
        let loaded = self.load_pages().await;
        self.loading.store(false, Ordering::SeqCst);
        loaded
    }

    async fn load_pages(&self) -> Result<Index> {
        let mut products: Vec<Product> = Vec::new();
        loop {
            let page = self
                .products
                .published_after(products.last().map(|p| &p.id), LOAD_PAGE)
                .await?;
            let full = page.len() >= LOAD_PAGE as usize;
            products.extend(page);
            if !full {
                break;
            }
        }
        Ok(Index::of(products))
    }

    /// Starts a full read in the background when the last is [`RESYNC`] old.
    fn resync_if_due(self: &Arc<Self>) {
        let due = {
            let Ok(progress) = self.progress.try_lock() else {
                return;
            };
            progress.loaded_at.is_some_and(|at| at.elapsed() >= RESYNC)
        };
        if !due || self.resyncing.swap(true, Ordering::SeqCst) {
            return;
        }
        let model = self.clone();
        tokio::spawn(async move {
            if let Err(e) = model.resync().await {
                tracing::warn!(error = %e, "reading the catalogue again failed; the next read retries");
            }
            model.resyncing.store(false, Ordering::SeqCst);
        });
    }

    /// Reads the whole catalogue again and swaps it in, with the changes made meanwhile.
    async fn resync(&self) -> Result<()> {
        let began = Instant::now();
        let from = self.backend.clock.now() - overlap();
        let mut index = self.load().await?;
        let mut progress = self.progress.lock().await;
        index.apply(self.products.changed_since(from, POLL_LIMIT).await?);
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
        progress.loaded_at = Some(began);
        Ok(())
    }
}

fn overlap() -> chrono::Duration {
    chrono::Duration::from_std(OVERLAP).unwrap_or_else(|_| chrono::Duration::seconds(3))
}

/// The product port of an `Ecom` with a read model, which keeps the model up with its own
/// process's writes (read-your-writes): a product inserted or replaced is applied to the
/// index at once; a write whose outcome the index cannot take in exactly (a failed one, a
/// stock refresh that moved a product in or out of stock, any write while a whole read of the
/// catalogue is under way) is counted, so the next read of the catalogue waits for a poll
/// that began after it. A stock refresh that only moves units sold is applied to the held
/// products at once.
#[derive(Debug)]
struct CountedWrites {
    inner: Arc<dyn ProductRepo>,
    writes: Arc<AtomicU64>,
    index: Arc<RwLock<Index>>,
    loading: Arc<AtomicBool>,
}

impl CountedWrites {
    fn counted<T>(&self, out: Result<T>) -> Result<T> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        out
    }

    /// Whether a write that ended in `out` may be applied to the index directly: it succeeded
    /// and no whole read of the catalogue (which would replace the index) is under way.
    fn takes_in<T>(&self, out: &Result<T>) -> bool {
        out.is_ok() && !self.loading.load(Ordering::SeqCst)
    }

    /// Takes in `product` as this process just wrote it. The stored document's derived
    /// fields (units sold, stock flags) are written only by `record_stock`, so the index keeps
    /// the ones it holds.
    fn applied(&self, out: Result<()>, product: &Product) -> Result<()> {
        if !self.takes_in(&out) {
            return self.counted(out);
        }
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        let mut written = product.clone();
        if let Some(held) = index.get(&product.id) {
            written.sold = held.sold;
            written.in_stock = held.in_stock;
            written.low_stock = held.low_stock;
        }
        // A load that begins from now on reads this write: the check above suffices.
        index.apply([written]);
        out
    }
}

#[async_trait]
impl ProductRepo for CountedWrites {
    async fn insert(&self, product: &Product) -> Result<()> {
        let out = self.inner.insert(product).await;
        self.applied(out, product)
    }

    async fn get(&self, id: &ProductId) -> Result<Option<Product>> {
        self.inner.get(id).await
    }

    async fn get_many(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        self.inner.get_many(ids).await
    }

    async fn replace(
        &self,
        product: &Product,
        expected_version: u64,
        events: &[Event],
    ) -> Result<()> {
        let out = self.inner.replace(product, expected_version, events).await;
        self.applied(out, product)
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        self.inner.list(query).await
    }

    async fn count(&self, filter: &ProductFilter) -> Result<u64> {
        self.inner.count(filter).await
    }

    async fn facets(&self, filter: &CatalogueFilter) -> Result<Facets> {
        self.inner.facets(filter).await
    }

    async fn record_stock(&self, records: &[StockRecord]) -> Result<u64> {
        let out = self.inner.record_stock(records).await;
        let flips = records.iter().any(|r| r.state.in_stock != r.was.0);
        if flips || !self.takes_in(&out) {
            return self.counted(out);
        }
        // Units sold moved only: the held products take the refreshed figures at once (a
        // record another refresh overtook is corrected by the next poll).
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        let refreshed: Vec<Product> = records
            .iter()
            .filter_map(|r| {
                let held = index.get(&r.product_id)?;
                let mut product = Product::clone(held);
                product.sold = r.state.sold;
                product.low_stock = r.low_stock;
                Some(product)
            })
            .collect();
        index.apply(refreshed);
        out
    }

    async fn published_after(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<Product>> {
        self.inner.published_after(after, limit).await
    }

    async fn changed_since(&self, since: Timestamp, limit: u32) -> Result<Vec<Product>> {
        self.inner.changed_since(since, limit).await
    }
}
