//! Recovery: finishing what crashed or stalled processes left half-way.
//!
//! What is left is always an open hold (of stock, of a code use, or of a gate admission) older
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

use super::checkout::{CheckoutService, RecoveryReport};
use super::config::CheckoutStrategy;
use super::order::finish_returns;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::error::{Error, Result};
use crate::id::{DiscountId, OrderId, ProductId};
use crate::inventory::Reservation;
use crate::order::Order;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Holds (and claims) handled per recovery pass and kind.
const RECOVERY_BATCH: u32 = 500;

/// Longest wait before an order whose recovery keeps failing is tried again.
const MAX_BACKOFF_SECS: i64 = 600;

/// Orders whose recovery failed, with when to try each again (exponential backoff: 2, 4, 8 s
/// ... up to 10 minutes), and how many recoveries failed in all. One bad record therefore
/// neither stops a pass nor takes every pass's time, and it is still retried.
#[derive(Debug, Default)]
pub(super) struct Retries {
    backoff: std::sync::Mutex<HashMap<OrderId, (u32, Timestamp)>>,
    failures: std::sync::atomic::AtomicU64,
}

impl Retries {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<OrderId, (u32, Timestamp)>> {
        self.backoff.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `order` is waiting out its backoff at `now`.
    fn deferred(&self, order: &OrderId, now: Timestamp) -> bool {
        self.map().get(order).is_some_and(|(_, at)| *at > now)
    }

    fn failed(&self, order: &OrderId, now: Timestamp) {
        self.failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut map = self.map();
        let entry = map.entry(order.clone()).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        let wait = 2_i64.saturating_pow(entry.0.min(20)).min(MAX_BACKOFF_SECS);
        entry.1 = now + chrono::Duration::seconds(wait);
    }

    fn recovered(&self, order: &OrderId) {
        self.map().remove(order);
    }
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
    first_error: Option<Error>,
}

impl Tally {
    fn failed(&mut self, e: Error) {
        tracing::warn!(error = %e, "recovering a hold failed; the next pass retries");
        self.first_error.get_or_insert(e);
    }
}

impl CheckoutService {
    /// How many recoveries of a hold, use, admission or return failed since this service
    /// started (each is retried with backoff; the server exports it as
    /// `ecom_recovery_failures_total`).
    pub fn recovery_failures(&self) -> u64 {
        self.inner
            .retries
            .failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Finishes what crashed or stalled processes left half-way (see the module docs of
    /// `recovery`): holds open for longer than the checkout lease are settled or given back, then
    /// return claims past their deadline are taken over and finished (after the holds, so the
    /// units a dead superseded claimant reopened are back in `sold` first). Idempotent; safe to run
    /// from several processes at once. A hold that fails to recover does not stop the pass; the
    /// first such error is returned after it.
    pub async fn recover_stale_checkouts(&self, now: Timestamp) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        let mut tally = Tally::default();
        let cutoff = now - self.inner.config.checkout.lease;
        // Ordered: placed orders are finished in id order, the same order every run.
        let mut fates: BTreeMap<OrderId, Fate> = BTreeMap::new();
        let mut touched: Vec<ProductId> = Vec::new();
        for (product, hold) in self
            .inner
            .backend
            .inventory
            .list_stale(cutoff, RECOVERY_BATCH)
            .await?
        {
            if self.inner.retries.deferred(&hold.order_id, now) {
                continue;
            }
            let outcome = self
                .recover_hold(&product, &hold, &mut fates, &mut tally)
                .await;
            self.tried(&hold.order_id, outcome, now, &mut tally);
            // Units sold change only for placed orders; a model's record names its product
            // through the order's line.
            if let Some(Fate::Exists(order)) = fates.get(&hold.order_id) {
                touched.extend(
                    order
                        .lines
                        .iter()
                        .filter(|l| l.stock_id() == &product)
                        .map(|l| l.product_id.clone()),
                );
            }
        }
        for (discount, use_) in self
            .inner
            .backend
            .discounts
            .list_stale(cutoff, RECOVERY_BATCH)
            .await?
        {
            if self.inner.retries.deferred(&use_.order_id, now) {
                continue;
            }
            let outcome = self
                .recover_use(&discount, &use_, &mut fates, &mut tally)
                .await;
            self.tried(&use_.order_id, outcome, now, &mut tally);
        }
        if self.inner.config.checkout.strategy == CheckoutStrategy::Gate {
            for (checkout, products) in self
                .inner
                .backend
                .gate
                .list_stale(cutoff, RECOVERY_BATCH)
                .await?
            {
                let order = OrderId::parse(&checkout).ok();
                if order
                    .as_ref()
                    .is_some_and(|o| self.inner.retries.deferred(o, now))
                {
                    continue;
                }
                let outcome = self
                    .recover_admission(&checkout, &products, &mut fates, &mut tally)
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
        super::catalogue::record_sales(&self.inner.backend, touched).await;
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
            .inner
            .backend
            .orders
            .list_returning(now, RECOVERY_BATCH)
            .await?
        {
            let retries = &self.inner.retries;
            let id = order.id.clone();
            if retries.deferred(&id, now) {
                continue;
            }
            match finish_returns(&self.inner.backend, order, self.inner.config.checkout.lease).await
            {
                Ok(_) => {
                    retries.recovered(&id);
                    finished += 1;
                }
                Err(e) => {
                    retries.failed(&id, now);
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
            Ok(()) if !tally.failing.contains(order) => self.inner.retries.recovered(order),
            Ok(()) => {}
            Err(e) => {
                self.inner.retries.failed(order, now);
                tally.failing.insert(order.clone());
                tally.failed(e);
            }
        }
    }

    /// The fate of the order `id` names, looked up once per pass.
    async fn fate<'a>(
        &self,
        id: &OrderId,
        fates: &'a mut BTreeMap<OrderId, Fate>,
    ) -> Result<&'a Fate> {
        if !fates.contains_key(id) {
            let orders = &self.inner.backend.orders;
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
        product: &ProductId,
        hold: &Reservation,
        fates: &mut BTreeMap<OrderId, Fate>,
        tally: &mut Tally,
    ) -> Result<()> {
        let inventory = &self.inner.backend.inventory;
        let hold_slice = std::slice::from_ref(hold);
        match self.fate(&hold.order_id, fates).await? {
            Fate::Abandoned => {
                inventory.release(product, hold_slice).await?;
                self.release_admission(&hold.order_id, product).await;
                tally.rolled_back.insert(hold.order_id.clone());
            }
            // Settled with the rest of the order, after its cart (see `finish_placed`).
            Fate::Exists(_) if hold.id == hold.order_id.as_str() => {
                tally.completed.insert(hold.order_id.clone());
            }
            Fate::Exists(order) => {
                let won = order.lines.iter().any(|l| {
                    l.stock_id() == product && l.returned.as_deref() == Some(hold.id.as_str())
                });
                let in_flight = order.returning.as_ref().is_some_and(|c| c.token == hold.id);
                if won {
                    let units = inventory.release(product, hold_slice).await?;
                    self.restock_gate(product, units).await;
                } else if !in_flight {
                    inventory.settle(product, hold_slice).await?;
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
        let discounts = &self.inner.backend.discounts;
        match self.fate(&use_.order_id, fates).await? {
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

    /// A gate admission left by a checkout that died between its admission and its end: given
    /// back if its order was never placed, forgotten (units kept) if it was.
    async fn recover_admission(
        &self,
        checkout: &str,
        products: &[ProductId],
        fates: &mut BTreeMap<OrderId, Fate>,
        tally: &mut Tally,
    ) -> Result<()> {
        let gate = &self.inner.backend.gate;
        let Ok(order_id) = OrderId::parse(checkout) else {
            tracing::warn!(checkout, "a gate admission of no checkout; giving it back");
            return gate.release(checkout, products).await;
        };
        match self.fate(&order_id, fates).await? {
            Fate::Abandoned => {
                gate.release(checkout, products).await?;
                tally.rolled_back.insert(order_id);
            }
            Fate::Exists(_) => gate.commit(checkout, products).await?,
        }
        Ok(())
    }

    /// A placed order found with open holds: what its checkout did not get to after the
    /// commit point, in its order — the bought lines leave the cart, then every hold settles
    /// (and the gate admission is forgotten) — so a failure leaves holds open for the next pass.
    async fn finish_placed(&self, order: &Order, now: Timestamp) -> Result<()> {
        let bought: Vec<ProductId> = order.lines.iter().map(|l| l.stock_id().clone()).collect();
        self.inner
            .backend
            .carts
            .remove_lines(&order.customer_id, &bought, now)
            .await?;
        self.inner.holds.settle(order, line_time(order)).await
    }

    async fn release_admission(&self, order: &OrderId, product: &ProductId) {
        if self.inner.config.checkout.strategy != CheckoutStrategy::Gate {
            return;
        }
        if let Err(e) = self
            .inner
            .backend
            .gate
            .release(order.as_str(), std::slice::from_ref(product))
            .await
        {
            tracing::warn!(%order, error = %e, "stock gate release failed; the gate counts low until it heals");
        }
    }

    async fn restock_gate(&self, product: &ProductId, units: u64) {
        if units == 0 {
            return;
        }
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        if let Err(e) = self.inner.backend.gate.add(product, units).await {
            tracing::warn!(%product, error = %e, "stock gate add failed; the gate counts low until it heals");
        }
    }
}

/// The time a placed order's holds carry (they are matched by id and quantity only).
fn line_time(order: &Order) -> Timestamp {
    order.created_at
}

fn count(ids: &HashSet<OrderId>) -> u32 {
    u32::try_from(ids.len()).unwrap_or(u32::MAX)
}
