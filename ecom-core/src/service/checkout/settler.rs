//! Settling placed orders in the background. One task per checkout service drains a queue of
//! placed orders and settles their holds in batches: one store write per product per batch
//! (group commit), however many orders the batch holds. A failure (or a crash of this process)
//! leaves holds open, which recovery settles after the lease.

use super::strategy::Strategy;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::event::{Aggregate, AggregateKind, Event, EventKind};
use crate::id::{CustomerId, DiscountId, OrderId, ProductId};
use crate::inventory::Reservation;
use crate::order::Order;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// Most orders settled in one batch.
const MAX_BATCH: usize = 1024;

/// What a placed order's checkout holds (its holds and uses carry the order's id).
#[derive(Debug)]
pub(crate) struct Placed {
    id: OrderId,
    customer: CustomerId,
    /// Per line, its stock record (the model's or the product's) and units.
    lines: Vec<(ProductId, u32)>,
    /// The products bought (whose units sold change).
    products: Vec<ProductId>,
    discounts: Vec<DiscountId>,
    at: Timestamp,
}

impl Placed {
    /// The holds of `order`, opened at `at`.
    pub(crate) fn of(order: &Order, at: Timestamp) -> Self {
        Placed {
            id: order.id.clone(),
            customer: order.customer_id.clone(),
            lines: order
                .lines
                .iter()
                .map(|l| (l.stock_id().clone(), l.quantity))
                .collect(),
            products: order.lines.iter().map(|l| l.product_id.clone()).collect(),
            discounts: order
                .discounts
                .iter()
                .map(|d| d.discount_id.clone())
                .collect(),
            at,
        }
    }
}

/// Settles placed orders' holds in the background.
#[derive(Debug)]
pub(crate) struct Settler {
    backend: Backend,
    /// Whose admissions are forgotten once their orders settle.
    strategy: Arc<dyn Strategy>,
    queue: Mutex<Option<mpsc::UnboundedSender<Placed>>>,
    counter: Arc<Counter>,
}

/// Orders queued but not yet settled, and a wake-up for whoever waits for none.
#[derive(Debug, Default)]
struct Counter {
    pending: AtomicUsize,
    idle: Notify,
}

impl Counter {
    fn done(&self, n: usize) {
        if self.pending.fetch_sub(n, Ordering::SeqCst) == n {
            self.idle.notify_waiters();
        }
    }
}

impl Settler {
    /// A settler over `backend`, forgetting admissions of `strategy`.
    pub(crate) fn new(backend: Backend, strategy: Arc<dyn Strategy>) -> Self {
        Settler {
            backend,
            strategy,
            queue: Mutex::new(None),
            counter: Arc::default(),
        }
    }

    /// Queues a placed order's holds to be settled.
    pub(crate) fn push(&self, item: Placed) {
        self.counter.pending.fetch_add(1, Ordering::SeqCst);
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let item = match queue.as_ref() {
            Some(tx) => match tx.send(item) {
                Ok(()) => return,
                Err(mpsc::error::SendError(item)) => item,
            },
            None => item,
        };
        // No task yet, or it ended with its runtime: start one.
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(item);
        *queue = Some(tx);
        tokio::spawn(run(
            self.backend.clone(),
            self.strategy.clone(),
            rx,
            self.counter.clone(),
        ));
    }

    /// Waits until every order queued so far is settled (or failed to).
    pub(crate) async fn flush(&self) {
        loop {
            let idle = self.counter.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.counter.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

async fn run(
    backend: Backend,
    strategy: Arc<dyn Strategy>,
    mut rx: mpsc::UnboundedReceiver<Placed>,
    counter: Arc<Counter>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let n = batch.len();
        // A batch of its own task: a panic in it is logged, not the end of the settler.
        if let Err(e) = tokio::spawn(settle_batch(backend.clone(), strategy.clone(), batch)).await {
            tracing::error!(error = %e, "settling a batch of placed orders died; recovery will");
        }
        counter.done(n);
    }
}

/// Settles the holds of `batch`: per product, one call for all its holds (products and codes
/// in id order, so a run does the same calls in the same order every time).
async fn settle_batch(backend: Backend, strategy: Arc<dyn Strategy>, batch: Vec<Placed>) {
    let mut by_product: BTreeMap<&ProductId, Vec<Reservation>> = BTreeMap::new();
    for placed in &batch {
        for (product, quantity) in &placed.lines {
            by_product.entry(product).or_default().push(Reservation {
                id: placed.id.to_string(),
                order_id: placed.id.clone(),
                quantity: *quantity,
                created_at: placed.at,
            });
        }
    }
    let products: Vec<ProductId> = batch
        .iter()
        .flat_map(|placed| placed.products.iter().cloned())
        .collect();
    let settled = match by_product.len() {
        0 => Ok(()),
        1 => {
            let (product, holds) = by_product
                .into_iter()
                .next()
                .unwrap_or_else(|| unreachable!());
            backend.inventory.settle(product, &holds).await.map(drop)
        }
        _ => {
            let batch: Vec<(ProductId, Vec<Reservation>)> = by_product
                .into_iter()
                .map(|(p, holds)| (p.clone(), holds))
                .collect();
            backend.inventory.settle_many(&batch).await
        }
    };
    match settled {
        Ok(()) => crate::service::catalogue::sold::refresh_stock(&backend, products).await,
        Err(e) => tracing::warn!(error = %e, "settling placed orders' stock failed; recovery will"),
    }
    let mut by_code: BTreeMap<&DiscountId, Vec<Redemption>> = BTreeMap::new();
    for placed in &batch {
        for discount in &placed.discounts {
            by_code.entry(discount).or_default().push(Redemption {
                id: placed.id.to_string(),
                order_id: placed.id.clone(),
                customer_id: placed.customer.clone(),
                at: placed.at,
            });
        }
    }
    for (discount, uses) in by_code {
        let settled = match uses.as_slice() {
            [one] => backend.discounts.settle(discount, one).await.map(drop),
            _ => backend
                .discounts
                .settle_many(discount, &uses)
                .await
                .map(drop),
        };
        if let Err(e) = settled {
            tracing::warn!(%discount, error = %e, "settling code uses failed; recovery will");
        }
        announce_exhausted(&backend, discount).await;
    }
    for placed in &batch {
        let stock: Vec<ProductId> = placed.lines.iter().map(|(p, _)| p.clone()).collect();
        if let Err(e) = strategy.settled(placed.id.as_str(), &stock).await {
            tracing::warn!(order_id = %placed.id, error = %e, "forgetting an admission failed; recovery will");
        }
    }
}

/// If every use of the code `id` is taken, marks it exhausted with its `discount.exhausted`
/// event (once, whoever gets there first). Best effort: logged.
pub(crate) async fn announce_exhausted(backend: &Backend, id: &DiscountId) {
    let marked = async {
        let Some(discount) = backend.discounts.get(id).await? else {
            return Ok(false);
        };
        if discount.uses < discount.max_uses {
            return Ok(false);
        }
        let event = Event::new(
            EventKind::DiscountExhausted,
            backend.clock.now(),
            Aggregate {
                kind: AggregateKind::Discount,
                id: id.to_string(),
                version: u64::from(discount.uses),
            },
            vec![discount.shop_id.clone()],
            &serde_json::json!({
                "discount_id": discount.id, "code": discount.code, "max_uses": discount.max_uses,
            }),
        );
        backend.discounts.mark_exhausted(id, &event).await
    };
    if let Err(e) = marked.await {
        tracing::warn!(%id, error = %e, "marking a used-up code failed");
    }
}
