//! The atomic strategy: each line is one conditional `stock >= qty` decrement, coalesced with
//! concurrent ones on the same stock record when group commit is on.

use super::port::{Strategy, Tuning};
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::ProductId;
use crate::inventory::{InventoryRepo, Reservation};
use crate::order::Order;
use crate::service::group_commit::{GroupCommit, Runner};
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Arc;

/// Reservations of one batch: (stock record, hold) pairs, each with its own outcome.
type Reserves = GroupCommit<(), (ProductId, Reservation), Result<()>>;

/// Conditional decrements only; no admissions.
#[derive(Debug)]
pub(crate) struct Atomic {
    inventory: Arc<dyn InventoryRepo>,
    /// Coalesces concurrent reservations, when group commit is on.
    reserves: Option<Arc<Reserves>>,
}

impl Atomic {
    pub(crate) fn new(backend: &Backend, tuning: Tuning) -> Self {
        let inventory = backend.inventory.clone();
        let reserves = tuning.group_commit.then(|| {
            let inventory = inventory.clone();
            let run: Runner<(), (ProductId, Reservation), Result<()>> =
                Arc::new(move |(), holds| {
                    let inventory = inventory.clone();
                    Box::pin(async move { reserve_across(&*inventory, holds).await })
                });
            GroupCommit::new(run)
        });
        Atomic {
            inventory,
            reserves,
        }
    }
}

#[async_trait]
impl Strategy for Atomic {
    async fn admit(&self, _order: &Order, _at: Timestamp) -> Result<()> {
        Ok(())
    }

    async fn reserve(&self, stock: &ProductId, hold: Reservation) -> Result<()> {
        match &self.reserves {
            Some(reserves) => reserves.submit((), (stock.clone(), hold)).await,
            None => {
                self.inventory
                    .reserve(stock, std::slice::from_ref(&hold))
                    .await
            }
        }
    }

    async fn release(&self, _checkout: &str, _stock: &[ProductId]) -> Result<()> {
        Ok(())
    }

    async fn settled(&self, _checkout: &str, _stock: &[ProductId]) -> Result<()> {
        Ok(())
    }

    async fn stale_admissions(
        &self,
        _before: Timestamp,
        _limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>> {
        Ok(Vec::new())
    }
}

/// Reserves a batch of holds across products: per product all at once in one call for the
/// whole batch; a product whose holds do not all fit goes on alone (see [`reserve_batch`]).
async fn reserve_across(
    inventory: &dyn InventoryRepo,
    batch: Vec<(ProductId, Reservation)>,
) -> Vec<Result<()>> {
    // Group by product, remembering where each hold's answer goes.
    let mut groups: Vec<(ProductId, Vec<Reservation>, Vec<usize>)> = Vec::new();
    for (i, (product, hold)) in batch.into_iter().enumerate() {
        match groups.iter_mut().find(|(p, _, _)| *p == product) {
            Some((_, holds, slots)) => {
                holds.push(hold);
                slots.push(i);
            }
            None => groups.push((product, vec![hold], vec![i])),
        }
    }
    let n = groups.iter().map(|(_, _, slots)| slots.len()).sum();
    let mut outs: Vec<Option<Result<()>>> = (0..n).map(|_| None).collect();
    let mut place = |slots: &[usize], results: Vec<Result<()>>| {
        for (slot, result) in slots.iter().zip(results) {
            outs[*slot] = Some(result);
        }
    };
    if let [(product, holds, slots)] = groups.as_slice() {
        let results = reserve_batch(inventory, product, holds.clone()).await;
        place(slots, results);
    } else {
        let calls: Vec<(ProductId, Vec<Reservation>)> = groups
            .iter()
            .map(|(p, holds, _)| (p.clone(), holds.clone()))
            .collect();
        match inventory.reserve_many(&calls).await {
            Ok(results) if results.len() == groups.len() => {
                for ((product, holds, slots), result) in groups.into_iter().zip(results) {
                    match result {
                        Ok(()) => place(&slots, slots.iter().map(|_| Ok(())).collect()),
                        Err(Error::InsufficientStock { .. }) => {
                            let alone = reserve_batch(inventory, &product, holds).await;
                            place(&slots, alone);
                        }
                        Err(e) => place(&slots, slots.iter().map(|_| Err(e.replicate())).collect()),
                    }
                }
            }
            Ok(_) => {
                let wrong = Error::backend("reserve_many answered the wrong count");
                for (_, _, slots) in &groups {
                    place(
                        slots,
                        slots.iter().map(|_| Err(wrong.replicate())).collect(),
                    );
                }
            }
            Err(e) => {
                for (_, _, slots) in &groups {
                    place(slots, slots.iter().map(|_| Err(e.replicate())).collect());
                }
            }
        }
    }
    outs.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::backend("a hold got no answer"))))
        .collect()
}

/// Reserves a batch of holds of one product: all at once when the stock covers them;
/// otherwise the holds that fit the stock as read, in arrival order, and refusals for the
/// rest; single writes if that fails too (the stock moved under us).
async fn reserve_batch(
    inventory: &dyn InventoryRepo,
    product: &ProductId,
    holds: Vec<Reservation>,
) -> Vec<Result<()>> {
    let short = || Error::InsufficientStock {
        product_id: product.to_string(),
    };
    match inventory.reserve(product, &holds).await {
        Ok(()) => return holds.iter().map(|_| Ok(())).collect(),
        Err(Error::InsufficientStock { .. }) => {}
        Err(e) => return holds.iter().map(|_| Err(e.replicate())).collect(),
    }
    let current = match inventory.get(product).await {
        Ok(Some(current)) => current,
        Ok(None) => {
            return holds
                .iter()
                .map(|_| Err(Error::not_found("inventory")))
                .collect()
        }
        Err(e) => return holds.iter().map(|_| Err(e.replicate())).collect(),
    };
    let open: HashSet<&str> = current.reservations.iter().map(|r| r.id.as_str()).collect();
    let mut left = current.stock;
    let mut outs: Vec<Option<Result<()>>> = Vec::with_capacity(holds.len());
    let mut fit = Vec::new();
    for hold in &holds {
        if open.contains(hold.id.as_str()) {
            outs.push(Some(Ok(())));
        } else if u64::from(hold.quantity) <= left {
            left -= u64::from(hold.quantity);
            fit.push(hold.clone());
            outs.push(None);
        } else {
            outs.push(Some(Err(short())));
        }
    }
    let together = if fit.is_empty() {
        Ok(())
    } else {
        inventory.reserve(product, &fit).await
    };
    let mut singles = Vec::new();
    for (hold, out) in holds.iter().zip(outs.iter_mut()) {
        if out.is_none() {
            *out = match &together {
                Ok(()) => Some(Ok(())),
                Err(Error::InsufficientStock { .. }) => {
                    singles.push(hold);
                    None
                }
                Err(e) => Some(Err(e.replicate())),
            };
        }
    }
    let mut single_outs = Vec::with_capacity(singles.len());
    for hold in singles {
        single_outs.push(inventory.reserve(product, std::slice::from_ref(hold)).await);
    }
    let mut single_outs = single_outs.into_iter();
    outs.into_iter()
        .map(|out| out.unwrap_or_else(|| single_outs.next().unwrap_or_else(|| Err(short()))))
        .collect()
}
