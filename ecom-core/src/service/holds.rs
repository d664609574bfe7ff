//! The stock and code-use side of a checkout: holding an order's lines and codes before it is
//! placed, giving them back when it is not, and settling them once it is.
//!
//! Every hold of a checkout carries the id of the order it would place, so holding, giving back
//! and settling are idempotent, and recovery can always tell whose hold it is.

use super::config::{CheckoutStrategy, EcomConfig};
use super::gate_heal;
use super::group_commit::{GroupCommit, Runner};
use super::settler::{Placed, Settler};
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::error::{Error, Result};
use crate::gate::{Admission, GateLine};
use crate::id::ProductId;
use crate::inventory::{InventoryRepo, Reservation};
use crate::order::{AppliedDiscount, Order, OrderLine};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Admission attempts before giving up (a seed or a heal in between needs two).
const GATE_ATTEMPTS: usize = 3;

/// Products whose last heal check this process remembers before forgetting expired ones.
const HEAL_CHECKS_KEPT: usize = 4096;

/// The hold of an order's line (its id is the order's).
pub(crate) fn line_hold(order: &Order, line: &OrderLine, at: Timestamp) -> Reservation {
    Reservation {
        id: order.id.to_string(),
        order_id: order.id.clone(),
        quantity: line.quantity,
        created_at: at,
    }
}

/// The use of a code by an order (its id is the order's).
pub(crate) fn code_use(order: &Order, at: Timestamp) -> Redemption {
    Redemption {
        id: order.id.to_string(),
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        at,
    }
}

/// Holds, gives back and settles the stock and code uses of checkouts. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Holds {
    inner: Arc<HoldsInner>,
}

#[derive(Debug)]
struct HoldsInner {
    backend: Backend,
    config: Arc<EcomConfig>,
    reserves: Arc<GroupCommit<(), (ProductId, Reservation), Result<()>>>,
    settler: Settler,
    /// When this process last checked each refused product's gate count against the store.
    heal_checks: Mutex<HashMap<ProductId, Timestamp>>,
}

impl Holds {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        let inventory = backend.inventory.clone();
        let reserve: Runner<(), (ProductId, Reservation), Result<()>> =
            Arc::new(move |(), holds| {
                let inventory = inventory.clone();
                Box::pin(async move { reserve_across(&*inventory, holds).await })
            });
        let gate = config.checkout.strategy == CheckoutStrategy::Gate;
        Holds {
            inner: Arc::new(HoldsInner {
                settler: Settler::new(backend.clone(), gate),
                backend,
                config,
                reserves: GroupCommit::new(reserve),
                heal_checks: Mutex::default(),
            }),
        }
    }

    fn strategy(&self) -> CheckoutStrategy {
        self.inner.config.checkout.strategy
    }

    /// Holds every line and code of `order`, all or nothing from the caller's view: on an
    /// error, some holds may be open; [`Holds::give_back`] closes them.
    pub(crate) async fn hold(&self, order: &Order, at: Timestamp) -> Result<()> {
        if self.strategy() == CheckoutStrategy::Gate {
            self.admit(order, at).await?;
        }
        for line in &order.lines {
            self.reserve(line.stock_id(), line_hold(order, line, at))
                .await?;
        }
        for applied in &order.discounts {
            self.inner
                .backend
                .discounts
                .redeem(&applied.discount_id, &code_use(order, at))
                .await?;
        }
        Ok(())
    }

    /// Has the stock gate admit every line of `order`, seeding products it does not know yet
    /// from the store. A refusal is out of stock, answered without touching the store, unless
    /// this process has not checked the refused product against the store for
    /// [`gate_heal_every`](super::CheckoutSettings::gate_heal_every): then the gate is healed
    /// from the store first, and asked again if that raised its count.
    async fn admit(&self, order: &Order, at: Timestamp) -> Result<()> {
        let lines: Vec<GateLine> = order
            .lines
            .iter()
            .map(|l| GateLine {
                product_id: l.stock_id().clone(),
                quantity: l.quantity,
            })
            .collect();
        let backend = &self.inner.backend;
        let mut checked = false;
        for _ in 0..GATE_ATTEMPTS {
            match backend.gate.admit(order.id.as_str(), &lines, at).await? {
                Admission::Admitted => return Ok(()),
                Admission::Refused { product_id } => {
                    if !checked && self.may_heal(&product_id, at) {
                        checked = true;
                        let healed = gate_heal::heal(backend, &product_id, false).await?;
                        if healed.is_some_and(gate_heal::Healed::raised) {
                            continue;
                        }
                    }
                    return Err(Error::InsufficientStock {
                        product_id: product_id.to_string(),
                    });
                }
                Admission::Unseeded { product_ids } => {
                    for product in &product_ids {
                        gate_heal::heal(backend, product, false).await?;
                    }
                }
            }
        }
        Err(Error::Busy(
            "the stock gate keeps being reset; retry".into(),
        ))
    }

    /// Whether this process may check `product`'s gate count against the store now (at most
    /// once per `gate_heal_every`); notes the check if so.
    fn may_heal(&self, product: &ProductId, now: Timestamp) -> bool {
        let every = chrono::Duration::from_std(self.inner.config.checkout.gate_heal_every)
            .unwrap_or(chrono::Duration::MAX);
        let mut checked = self
            .inner
            .heal_checks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if checked.len() >= HEAL_CHECKS_KEPT {
            checked.retain(|_, at| now.signed_duration_since(*at) < every);
        }
        match checked.get(product) {
            Some(last) if now.signed_duration_since(*last) < every => false,
            _ => {
                checked.insert(product.clone(), now);
                true
            }
        }
    }

    async fn reserve(&self, product: &ProductId, hold: Reservation) -> Result<()> {
        let inventory = &self.inner.backend.inventory;
        match self.strategy() {
            CheckoutStrategy::LockThenReserve => {
                // Fail fast without queueing for the lock when the stock is clearly short.
                let stock = inventory.get(product).await?.map_or(0, |i| i.stock);
                if stock < u64::from(hold.quantity) {
                    return Err(Error::InsufficientStock {
                        product_id: product.to_string(),
                    });
                }
                let settings = &self.inner.config.checkout;
                let key = format!("stock:{product}");
                let guard = self
                    .inner
                    .backend
                    .lock
                    .acquire(&key, settings.lock_ttl, settings.lock_wait)
                    .await?;
                let reserved = inventory
                    .reserve(product, std::slice::from_ref(&hold))
                    .await;
                if let Err(e) = self.inner.backend.lock.release(&guard).await {
                    tracing::warn!(%key, error = %e, "stock lock release failed; it expires by TTL");
                }
                reserved
            }
            _ if self.inner.config.group_commit => {
                self.inner
                    .reserves
                    .submit((), (product.clone(), hold))
                    .await
            }
            _ => {
                inventory
                    .reserve(product, std::slice::from_ref(&hold))
                    .await
            }
        }
    }

    /// Gives back whatever `order`'s checkout may hold (it will never be placed). Idempotent.
    /// Returns false if something could not be given back now; what stays open is recovery's.
    pub(crate) async fn give_back(&self, order: &Order, at: Timestamp) -> bool {
        let mut complete = true;
        let mut log = |what: &str, result: Result<()>| {
            if let Err(e) = result {
                complete = false;
                tracing::warn!(order_id = %order.id, error = %e, "giving back {what} failed; recovery will");
            }
        };
        for line in &order.lines {
            let hold = line_hold(order, line, at);
            let released = self
                .inner
                .backend
                .inventory
                .release(line.stock_id(), std::slice::from_ref(&hold))
                .await;
            log("stock", released.map(drop));
        }
        for applied in &order.discounts {
            let released = self
                .inner
                .backend
                .discounts
                .release(&applied.discount_id, &code_use(order, at))
                .await;
            log("a code use", released.map(drop));
        }
        if self.strategy() == CheckoutStrategy::Gate {
            let products: Vec<ProductId> =
                order.lines.iter().map(|l| l.stock_id().clone()).collect();
            let released = self
                .inner
                .backend
                .gate
                .release(order.id.as_str(), &products)
                .await;
            log("the gate admission", released);
        }
        complete
    }

    /// Settles `order`'s holds into sold stock and taken uses, in the background (batched per
    /// product), and forgets its gate admission. Failures are logged; recovery settles what
    /// stays open.
    pub(crate) fn settle_in_background(&self, order: &Order, at: Timestamp) {
        self.inner.settler.push(Placed::of(order, at));
    }

    /// Settles `order`'s holds now (idempotent).
    pub(crate) async fn settle(&self, order: &Order, at: Timestamp) -> Result<()> {
        for line in &order.lines {
            let hold = line_hold(order, line, at);
            self.inner
                .backend
                .inventory
                .settle(line.stock_id(), std::slice::from_ref(&hold))
                .await?;
        }
        for AppliedDiscount { discount_id, .. } in &order.discounts {
            self.inner
                .backend
                .discounts
                .settle(discount_id, &code_use(order, at))
                .await?;
        }
        if self.strategy() == CheckoutStrategy::Gate {
            let products: Vec<ProductId> =
                order.lines.iter().map(|l| l.stock_id().clone()).collect();
            if let Err(e) = self
                .inner
                .backend
                .gate
                .commit(order.id.as_str(), &products)
                .await
            {
                tracing::warn!(order_id = %order.id, error = %e, "forgetting a gate admission failed; recovery will");
            }
        }
        Ok(())
    }

    /// Waits until every background settle started so far has ended.
    pub(crate) async fn flush(&self) {
        self.inner.settler.flush().await;
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
