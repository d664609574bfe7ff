//! What the catalogue keeps of products' stock records: units sold (read exactly for a
//! product page, copied onto products for the best-selling sort) and whether a product has
//! free stock (copied onto products for the in-stock filter).

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::event::{Aggregate, AggregateKind, Event, EventKind};
use crate::id::ProductId;
use crate::inventory::StockState;
use crate::product::{Product, StockRecord};

/// `products` with their exact units sold and stock state, from their stock records.
pub(crate) async fn with_sold(
    backend: &Backend,
    mut products: Vec<Product>,
) -> Result<Vec<Product>> {
    if products.is_empty() {
        return Ok(products);
    }
    let ids: Vec<ProductId> = products.iter().map(|p| p.id.clone()).collect();
    let states = backend.inventory.stock_states(&ids).await?;
    for product in &mut products {
        if let Some((_, state)) = states.iter().find(|(id, _)| id == &product.id) {
            product.sold = state.sold;
            product.in_stock = state.in_stock;
        }
    }
    Ok(products)
}

/// Copies the units sold and the stock state of `products` from their stock records onto the
/// products (the copies the best-selling sort and the in-stock filter read), with the stock
/// events of a flip (`stock.out`, `stock.back_in_stock`, `stock.low`) in the same write: one
/// read of the products, one of their records and one write for all, after a batch of
/// settlements, a cancellation's restock, a checkout's stock given back, or a stock addition
/// or adjustment.
///
/// The products are read before their records, and each write is conditioned on the flags it
/// read: of two refreshes racing, the one that read older stock can only lose, and the loser
/// reads again (a few times) so the flags end where the stock is. Best effort: a failure is
/// logged and the next refresh of the product repairs it (a flip is announced by the refresh
/// that records it, once).
pub(crate) async fn refresh_stock(
    backend: &Backend,
    products: impl IntoIterator<Item = ProductId>,
) {
    let mut ids: Vec<ProductId> = products.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return;
    }
    for _ in 0..REFRESH_ATTEMPTS {
        match refresh_once(backend, &ids).await {
            Ok(true) => return,
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "refreshing products' units sold and stock failed; the next change of each will");
                return;
            }
        }
    }
    tracing::warn!("refreshing products' stock kept racing other refreshes; the next change of each repairs it");
}

/// Reads of a refresh that lost a race before it gives up.
const REFRESH_ATTEMPTS: u32 = 4;

/// One refresh of `ids`; whether every record was written.
async fn refresh_once(backend: &Backend, ids: &[ProductId]) -> Result<bool> {
    let stored = backend.products.get_many(ids).await?;
    let records: Vec<StockRecord> = records_of(backend, &stored)
        .await?
        .into_iter()
        .map(|(record, _)| record)
        .collect();
    let written = backend.products.record_stock(&records).await?;
    Ok(written >= records.len() as u64)
}

/// Published products read per page of a rebuild.
const REBUILD_PAGE: u32 = 500;

/// What [`CatalogueService::rebuild`](crate::service::CatalogueService::rebuild) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatalogueRebuild {
    /// Published products checked.
    pub checked: u64,
    /// Products whose copies (units sold, in stock, low on stock) disagreed with their stock
    /// records and were rewritten.
    pub corrected: u64,
}

/// Rewrites, for every published product whose copies of its stock records (units sold, the
/// in-stock and low-stock flags) disagree with the records, the copies from the records, with
/// the events of the flags that flip; by pages of products in id order. Every process's read
/// model takes the rewritten products in with its next poll. A product whose write lost a race
/// to a concurrent refresh (which wrote what the records said then) is not counted.
pub(crate) async fn rebuild(backend: &Backend) -> Result<CatalogueRebuild> {
    let mut report = CatalogueRebuild::default();
    let mut after: Option<ProductId> = None;
    loop {
        let page = backend
            .products
            .published_after(after.as_ref(), REBUILD_PAGE)
            .await?;
        let Some(last) = page.last() else {
            return Ok(report);
        };
        after = Some(last.id.clone());
        report.checked += page.len() as u64;
        let records: Vec<StockRecord> = records_of(backend, &page)
            .await?
            .into_iter()
            .filter_map(|(record, agrees)| (!agrees).then_some(record))
            .collect();
        if !records.is_empty() {
            report.corrected += backend.products.record_stock(&records).await?;
        }
    }
}

/// What to record of `products` from their stock records now, each with whether the copies
/// on the product (units sold, in stock, low on stock) already agree with it.
async fn records_of(backend: &Backend, products: &[Product]) -> Result<Vec<(StockRecord, bool)>> {
    let ids: Vec<ProductId> = products.iter().map(|p| p.id.clone()).collect();
    let states = backend.inventory.stock_states(&ids).await?;
    let now = backend.clock.now();
    Ok(states
        .into_iter()
        .filter_map(|(id, state)| {
            let product = products.iter().find(|p| p.id == id)?;
            let record = stock_record(product, state, now);
            let copied = (product.sold, product.in_stock, product.low_stock);
            let agrees = copied == (state.sold, state.in_stock, record.low_stock);
            Some((record, agrees))
        })
        .collect())
}

/// What to record of `product`'s stock `state`, with the events of the flags it flips.
fn stock_record(product: &Product, state: StockState, at: Timestamp) -> StockRecord {
    let threshold = product.low_stock_threshold;
    let low_stock = state.in_stock && state.free <= u64::from(threshold);
    let mut kinds = Vec::new();
    match (product.in_stock, state.in_stock) {
        (true, false) => kinds.push(EventKind::StockOut),
        (false, true) => kinds.push(EventKind::StockBackInStock),
        _ => {}
    }
    if low_stock && !product.low_stock {
        kinds.push(EventKind::StockLow);
    }
    // A flip is an event of the product, at the version it was computed against (the write
    // is conditioned on it), so a product's events stay in version order.
    let version = product.version;
    let events = kinds
        .into_iter()
        .map(|kind| {
            Event::new(
                kind,
                at,
                Aggregate {
                    kind: AggregateKind::Product,
                    id: product.id.to_string(),
                    version,
                },
                vec![product.shop_id.clone()],
                &serde_json::json!({
                    "product_id": product.id, "stock": state.free, "threshold": threshold,
                }),
            )
        })
        .collect();
    StockRecord {
        product_id: product.id.clone(),
        state,
        low_stock,
        was: (product.in_stock, product.low_stock),
        version,
        events,
        at,
    }
}
