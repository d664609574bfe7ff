//! The calls many concurrent checkouts make alike, coalesced into batches (group commit; see
//! [`crate::service::group_commit`]): reading products, inserting orders, removing bought lines from
//! carts. A batch of one is the plain call; under load a hot product costs one store round
//! trip per batch for each of them, not one per order. Each caller still gets its own outcome:
//! an order's insert succeeds or conflicts on its own, and a read is issued after the caller
//! asked (it never reuses a read already in flight), so it is as fresh as an unbatched one.

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::{CustomerId, ProductId};
use crate::order::Order;
use crate::product::Product;
use crate::service::group_commit::{GroupCommit, Runner};
use crate::service::order_events::placed;
use std::sync::Arc;

/// Bought lines to remove from carts, batched.
type CartCleanups = GroupCommit<(), (CustomerId, Vec<ProductId>, Timestamp), Result<()>>;

/// The coalesced calls of one checkout service.
#[derive(Debug)]
pub(crate) struct Batched {
    backend: Backend,
    enabled: bool,
    reads: Arc<GroupCommit<(), Vec<ProductId>, Result<Vec<Product>>>>,
    inserts: Arc<GroupCommit<(), Arc<Order>, Result<()>>>,
    carts: Arc<CartCleanups>,
}

impl Batched {
    /// Batches over `backend` (or plain calls, when `enabled` is false).
    pub(crate) fn new(backend: Backend, enabled: bool) -> Self {
        let products = backend.products.clone();
        let reads: Runner<(), Vec<ProductId>, Result<Vec<Product>>> = Arc::new(move |(), asks| {
            let products = products.clone();
            Box::pin(async move {
                let mut ids: Vec<ProductId> = asks.iter().flatten().cloned().collect();
                ids.sort();
                ids.dedup();
                match products.get_many(&ids).await {
                    Ok(found) => asks
                        .iter()
                        .map(|asked| {
                            Ok(found
                                .iter()
                                .filter(|p| asked.contains(&p.id))
                                .cloned()
                                .collect())
                        })
                        .collect(),
                    Err(e) => asks.iter().map(|_| Err(e.replicate())).collect(),
                }
            })
        });
        let orders = backend.orders.clone();
        let inserts: Runner<(), Arc<Order>, Result<()>> = Arc::new(move |(), batch| {
            let orders = orders.clone();
            Box::pin(async move {
                let events: Vec<[Event; 1]> = batch.iter().map(|o| [placed(o)]).collect();
                if let ([one], [event]) = (batch.as_slice(), events.as_slice()) {
                    return vec![orders.insert(one, event).await];
                }
                let refs: Vec<(&Order, &[Event])> = batch
                    .iter()
                    .zip(&events)
                    .map(|(o, e)| (o.as_ref(), e.as_slice()))
                    .collect();
                match orders.insert_many(&refs).await {
                    Ok(results) if results.len() == batch.len() => results,
                    Ok(_) => batch
                        .iter()
                        .map(|_| Err(Error::backend("insert_many answered the wrong count")))
                        .collect(),
                    Err(e) => batch.iter().map(|_| Err(e.replicate())).collect(),
                }
            })
        });
        let carts_repo = backend.carts.clone();
        let carts: Runner<(), (CustomerId, Vec<ProductId>, Timestamp), Result<()>> =
            Arc::new(move |(), batch| {
                let carts = carts_repo.clone();
                Box::pin(async move {
                    let now = batch.iter().map(|(_, _, at)| *at).max().unwrap_or_default();
                    let done = match batch.as_slice() {
                        [(customer, products, _)] => {
                            carts.remove_lines(customer, products, now).await.map(drop)
                        }
                        _ => {
                            let removals: Vec<(CustomerId, Vec<ProductId>)> = batch
                                .iter()
                                .map(|(c, p, _)| (c.clone(), p.clone()))
                                .collect();
                            carts.remove_lines_many(&removals, now).await
                        }
                    };
                    batch
                        .iter()
                        .map(|_| done.as_ref().copied().map_err(Error::replicate))
                        .collect()
                })
            });
        Batched {
            backend,
            enabled,
            reads: GroupCommit::new(reads),
            inserts: GroupCommit::new(inserts),
            carts: GroupCommit::new(carts),
        }
    }

    /// The products with these ids (missing ones are left out).
    pub(crate) async fn products(&self, ids: Vec<ProductId>) -> Result<Vec<Product>> {
        if self.enabled {
            self.reads.submit((), ids).await
        } else {
            self.backend.products.get_many(&ids).await
        }
    }

    /// Inserts `order` with its `order.placed` event (see
    /// [`crate::order::OrderRepo::insert`]).
    pub(crate) async fn insert(&self, order: Arc<Order>) -> Result<()> {
        if self.enabled {
            self.inserts.submit((), order).await
        } else {
            self.backend.orders.insert(&order, &[placed(&order)]).await
        }
    }

    /// Removes `products` from the customer's active cart.
    pub(crate) async fn remove_bought(
        &self,
        customer: &CustomerId,
        mut products: Vec<ProductId>,
        now: Timestamp,
    ) -> Result<()> {
        products.sort();
        if self.enabled {
            self.carts
                .submit((), (customer.clone(), products, now))
                .await
        } else {
            self.backend
                .carts
                .remove_lines(customer, &products, now)
                .await
                .map(drop)
        }
    }
}
