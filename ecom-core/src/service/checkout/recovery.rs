//! Recovery: finishing what crashed or stalled processes left half-way.
//!
//! What is left is always an open hold (of stock, of a code use, or of an admission) older
//! than the lease, or a return claim past its deadline. The order named by the hold decides its fate:
//!
//! | the hold's order                                  | the hold is          | so it is   |
//! |---------------------------------------------------|----------------------|------------|
//! | does not exist (recovery voids its id first)      | an abandoned checkout | given back |
//! | exists, and the hold's id is the order's          | a placed checkout    | settled, after the bought lines leave the cart |
//! | exists, and recorded the hold as its return       | a finished return    | given back |
//! | exists, and its current return claim is the hold  | a return in flight   | left to its claimant |
//! | exists, anything else                             | a superseded return  | settled back |
//!
//! Every step is idempotent, so several processes may recover at once.

use super::holds::Holds;
use super::retries::Retries;
use super::strategy::Strategy;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::error::{Error, Result};
use crate::id::{DiscountId, OrderId, ProductId};
use crate::inventory::Reservation;
use crate::order::Order;
use crate::service::cancellation::finish_returns;
use crate::service::catalogue::sold::refresh_stock;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Holds (and claims) handled per recovery pass and kind.
const RECOVERY_BATCH: u32 = 500;

/// What a recovery pass did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RecoveryReport {
    /// Abandoned checkouts (no order was placed) whose stock and code uses went back.
    pub rolled_back: u32,
    /// Checkouts whose order was placed but whose holds were still open: settled (and their
    /// bought lines removed from the cart).
    pub completed: u32,
    /// Orders whose returns (stock and code uses of cancelled lines) were finished.
    pub returns_finished: u32,
}

/// What became of the order a stale hold names.
enum Fate {
    /// It was never placed (and now never will be).
    Abandoned,
    /// It exists; the hold is its checkout's or one of its returns'.
    Exists(Box<Order>),
}

/// What happened to the orders met in one pass.
#[derive(Default)]
struct Tally {
    rolled_back: HashSet<OrderId>,
    completed: HashSet<OrderId>,
    /// Orders something of which failed to recover in this pass.
    failing: HashSet<OrderId>,
    /// Orders read since the current kind of holds was listed: only their fates may be
    /// trusted for the holds of that list (an order read before a hold was listed may have
    /// moved on: a return claimed, reopened and recorded in between).
    read_since_listing: HashSet<OrderId>,
    first_error: Option<Error>,
}

impl Tally {
    fn failed(&mut self, e: Error) {
        tracing::warn!(error = %e, "recovering a hold failed; the next pass retries");
        self.first_error.get_or_insert(e);
    }
}

/// Recovers the holds, admissions and return claims of one checkout service.
#[derive(Debug)]
pub(crate) struct Recovery {
    backend: Backend,
    lease: chrono::Duration,
    holds: Holds,
    strategy: Arc<dyn Strategy>,
    retries: Retries,
}

impl Recovery {
    /// Recovery over `backend`: holds older than `lease` are stale.
    pub(crate) fn new(
        backend: Backend,
        lease: chrono::Duration,
        holds: Holds,
        strategy: Arc<dyn Strategy>,
    ) -> Self {
        Recovery {
            backend,
            lease,
            holds,
            strategy,
            retries: Retries::default(),
        }
    }

    /// How many recoveries of a hold, use, admission or return failed so far.
    pub(crate) fn failures(&self) -> u64 {
        self.retries.failures()
    }

    /// One pass (see [`CheckoutService::recover_stale_checkouts`](super::CheckoutService::recover_stale_checkouts)).
    pub(crate) async fn run(&self, now: Timestamp) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        let mut tally = Tally::default();
        let cutoff = now - self.lease;
        // Ordered: placed orders are finished in id order, the same order every run.
        let mut fates: BTreeMap<OrderId, Fate> = BTreeMap::new();
        let mut touched: Vec<ProductId> = Vec::new();
        // Records an abandoned checkout's units went back to.
        let mut released: Vec<ProductId> = Vec::new();
        for (stock, hold) in self
            .backend
            .inventory
            .list_stale(cutoff, RECOVERY_BATCH)
            .await?
        {
            if self.retries.deferred(&hold.order_id, now) {
                continue;
            }
            let outcome = self
                .recover_hold(&stock, &hold, &mut fates, &mut tally)
                .await;
            self.tried(&hold.order_id, outcome, now, &mut tally);
            // Units sold and free stock change: for a placed order, its line names the product
            // of the record; an abandoned checkout's record names it itself.
            match fates.get(&hold.order_id) {
                Some(Fate::Exists(order)) => touched.extend(
                    order
                        .lines
                        .iter()
                        .filter(|l| l.stock_id() == &stock)
                        .map(|l| l.product_id.clone()),
                ),
                Some(Fate::Abandoned) => released.push(stock),
                None => {}
            }
        }
        tally.read_since_listing.clear();
        for (discount, use_) in self
            .backend
            .discounts
            .list_stale(cutoff, RECOVERY_BATCH)
            .await?
        {
            if self.retries.deferred(&use_.order_id, now) {
                continue;
            }
            let outcome = self
                .recover_use(&discount, &use_, &mut fates, &mut tally)
                .await;
            self.tried(&use_.order_id, outcome, now, &mut tally);
        }
        tally.read_since_listing.clear();
        for (checkout, stock) in self
            .strategy
            .stale_admissions(cutoff, RECOVERY_BATCH)
            .await?
        {
            let order = OrderId::parse(&checkout).ok();
            if order
                .as_ref()
                .is_some_and(|o| self.retries.deferred(o, now))
            {
                continue;
            }
            let outcome = self
                .recover_admission(&checkout, &stock, &mut fates, &mut tally)
                .await;
            match order {
                Some(order) => self.tried(&order, outcome, now, &mut tally),
                None => {
                    if let Err(e) = outcome {
                        tally.failed(e);
                    }
                }
            }
        }
        for (id, fate) in &fates {
            if let Fate::Exists(order) = fate {
                if tally.completed.contains(id) {
                    let outcome = self.finish_placed(order, now).await;
                    self.tried(id, outcome, now, &mut tally);
                    touched.extend(order.lines.iter().map(|l| l.product_id.clone()));
                }
            }
        }
        // Returns last: a stale hold of a superseded claim (its claimant died after reopening
        // it) is settled back above first, or taking the claim over would find `sold` short.
        report.returns_finished = self.finish_due_returns(now, &mut tally).await?;
        touched.extend(products_of(&self.backend, released).await);
        refresh_stock(&self.backend, touched).await;
        report.rolled_back = count(&tally.rolled_back);
        report.completed = count(&tally.completed);
        match tally.first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Takes over and finishes the return claims past their deadline; returns how many
    /// finished.
    async fn finish_due_returns(&self, now: Timestamp, tally: &mut Tally) -> Result<u32> {
        let mut finished = 0;
        for order in self
            .backend
            .orders
            .list_returning(now, RECOVERY_BATCH)
            .await?
        {
            let id = order.id.clone();
            if self.retries.deferred(&id, now) {
                continue;
            }
            match finish_returns(&self.backend, order, self.lease).await {
                Ok(_) => {
                    self.retries.recovered(&id);
                    finished += 1;
                }
                Err(e) => {
                    self.retries.failed(&id, now);
                    tally.failed(e);
                }
            }
        }
        Ok(finished)
    }

    /// Notes the outcome of recovering something of `order`: a failure is counted, backs the
    /// order off and is reported after the pass; a success clears its backoff.
    fn tried(&self, order: &OrderId, outcome: Result<()>, now: Timestamp, tally: &mut Tally) {
        match outcome {
            Ok(()) if !tally.failing.contains(order) => self.retries.recovered(order),
            Ok(()) => {}
            Err(e) => {
                self.retries.failed(order, now);
                tally.failing.insert(order.clone());
                tally.failed(e);
            }
        }
    }

    /// The fate of the order `id` names. An abandoned order stays abandoned (its id is void);
    /// an order that exists is read again for each list of holds, after the list.
    async fn fate<'a>(
        &self,
        id: &OrderId,
        fates: &'a mut BTreeMap<OrderId, Fate>,
        read_since_listing: &mut HashSet<OrderId>,
    ) -> Result<&'a Fate> {
        let known = match fates.get(id) {
            Some(Fate::Abandoned) => true,
            Some(Fate::Exists(_)) => read_since_listing.contains(id),
            None => false,
        };
        if !known {
            read_since_listing.insert(id.clone());
            let orders = &self.backend.orders;
            let found = match orders.get(id).await? {
                Some(order) => Some(order),
                None => orders.void(id).await?,
            };
            let fate = match found {
                None => Fate::Abandoned,
                Some(order) => Fate::Exists(Box::new(order)),
            };
            fates.insert(id.clone(), fate);
        }
        fates.get(id).ok_or_else(|| Error::not_found("order"))
    }

    async fn recover_hold(
        &self,
        stock: &ProductId,
        hold: &Reservation,
        fates: &mut BTreeMap<OrderId, Fate>,
        tally: &mut Tally,
    ) -> Result<()> {
        let inventory = &self.backend.inventory;
        let hold_slice = std::slice::from_ref(hold);
        match self
            .fate(&hold.order_id, fates, &mut tally.read_since_listing)
            .await?
        {
            Fate::Abandoned => {
                inventory.release(stock, hold_slice).await?;
                self.release_admission(&hold.order_id, stock).await;
                tally.rolled_back.insert(hold.order_id.clone());
            }
            // Settled with the rest of the order, after its cart (see `finish_placed`).
            Fate::Exists(_) if hold.id == hold.order_id.as_str() => {
                tally.completed.insert(hold.order_id.clone());
            }
            Fate::Exists(order) => {
                let won = order.lines.iter().any(|l| {
                    l.stock_id() == stock && l.returned.as_deref() == Some(hold.id.as_str())
                });
                let in_flight = order.returning.as_ref().is_some_and(|c| c.token == hold.id);
                if won {
                    let units = inventory.release(stock, hold_slice).await?;
                    self.restock_gate(stock, units).await;
                } else if !in_flight {
                    inventory.settle(stock, hold_slice).await?;
                }
            }
        }
        Ok(())
    }

    async fn recover_use(
        &self,
        discount: &DiscountId,
        use_: &Redemption,
        fates: &mut BTreeMap<OrderId, Fate>,
        tally: &mut Tally,
    ) -> Result<()> {
        let discounts = &self.backend.discounts;
        match self
            .fate(&use_.order_id, fates, &mut tally.read_since_listing)
            .await?
        {
            Fate::Abandoned => {
                discounts.release(discount, use_).await?;
                tally.rolled_back.insert(use_.order_id.clone());
            }
            Fate::Exists(_) if use_.id == use_.order_id.as_str() => {
                tally.completed.insert(use_.order_id.clone());
            }
            Fate::Exists(order) => {
                let won = order.discounts.iter().any(|d| {
                    &d.discount_id == discount && d.returned.as_deref() == Some(use_.id.as_str())
                });
                let in_flight = order.returning.as_ref().is_some_and(|c| c.token == use_.id);
                if won {
                    discounts.release(discount, use_).await?;
                } else if !in_flight {
                    discounts.settle(discount, use_).await?;
                }
            }
        }
        Ok(())
    }

    /// An admission left by a checkout that died between its admission and its end: given
    /// back if its order was never placed, forgotten (units kept) if it was.
    async fn recover_admission(
        &self,
        checkout: &str,
        stock: &[ProductId],
        fates: &mut BTreeMap<OrderId, Fate>,
        tally: &mut Tally,
    ) -> Result<()> {
        let Ok(order_id) = OrderId::parse(checkout) else {
            tracing::warn!(checkout, "an admission of no checkout; giving it back");
            return self.strategy.release(checkout, stock).await;
        };
        match self
            .fate(&order_id, fates, &mut tally.read_since_listing)
            .await?
        {
            Fate::Abandoned => {
                self.strategy.release(checkout, stock).await?;
                tally.rolled_back.insert(order_id);
            }
            Fate::Exists(_) => self.strategy.settled(checkout, stock).await?,
        }
        Ok(())
    }

    /// A placed order found with open holds: what its checkout did not get to after the
    /// commit point, in its order — the bought lines leave the cart, then every hold settles
    /// (and the admission is forgotten) — so a failure leaves holds open for the next pass.
    async fn finish_placed(&self, order: &Order, now: Timestamp) -> Result<()> {
        let bought: Vec<ProductId> = order.lines.iter().map(|l| l.stock_id().clone()).collect();
        self.backend
            .carts
            .remove_lines(&order.customer_id, &bought, now)
            .await?;
        // The holds carry the order's creation time (they are matched by id and quantity).
        self.holds.settle(order, order.created_at).await
    }

    async fn release_admission(&self, order: &OrderId, stock: &ProductId) {
        if let Err(e) = self
            .strategy
            .release(order.as_str(), std::slice::from_ref(stock))
            .await
        {
            tracing::warn!(%order, error = %e, "releasing an admission failed; the gate counts low until it heals");
        }
    }

    async fn restock_gate(&self, stock: &ProductId, units: u64) {
        if units == 0 {
            return;
        }
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        if let Err(e) = self.backend.gate.add(stock, units).await {
            tracing::warn!(%stock, error = %e, "stock gate add failed; the gate counts low until it heals");
        }
    }
}

/// The products of stock records (a model's record names its product); records that cannot be
/// read now are skipped (their products refresh with their next change).
async fn products_of(backend: &Backend, mut records: Vec<ProductId>) -> Vec<ProductId> {
    records.sort();
    records.dedup();
    let mut products = Vec::with_capacity(records.len());
    for record in records {
        match backend.inventory.get(&record).await {
            Ok(Some(found)) => products.push(found.model_of.unwrap_or(record)),
            Ok(None) => {}
            Err(e) => tracing::warn!(%record, error = %e, "reading a stock record failed"),
        }
    }
    products
}

fn count(ids: &HashSet<OrderId>) -> u32 {
    u32::try_from(ids.len()).unwrap_or(u32::MAX)
}
