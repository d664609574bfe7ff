//! Orders: the customer's list, cancel, and the shops' status updates.

use super::config::EcomConfig;
use super::holds::{code_use, line_hold};
use super::payment::{refund_due, PaymentStats};
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::error::{Error, Result};
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::inventory::Reservation;
use crate::order::{Order, OrderStatus, ReturnClaim, ShopFulfilment, ShopOrderFilter};
use crate::page::Page;
use crate::payment::{Capture, PaymentStatus};
use crate::validate;
use chrono::Duration;
use std::sync::Arc;

/// How often a conditional order update is retried after losing to a concurrent one.
const UPDATE_ATTEMPTS: usize = 5;

/// A status change for some of a shop's lines of an order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineStatusChange {
    /// The lines: a product id names every line of that product (each of its models), a
    /// model id the line of that model.
    pub product_ids: Vec<ProductId>,
    /// Their new status.
    pub status: OrderStatus,
}

/// Input of [`OrderService::update_status`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct StatusUpdate {
    /// Changes of the shop's own lines.
    pub lines: Vec<LineStatusChange>,
    /// A note for the customer.
    pub note: Option<String>,
    /// The carrier's tracking number.
    pub tracking_number: Option<String>,
}

/// The order use cases.
#[derive(Clone, Debug)]
pub struct OrderService {
    backend: Backend,
    config: Arc<EcomConfig>,
    lease: Duration,
    stats: Arc<PaymentStats>,
}

impl OrderService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>, stats: Arc<PaymentStats>) -> Self {
        OrderService {
            backend,
            lease: config.checkout.lease,
            config,
            stats,
        }
    }

    /// The orders with at least one line of `shop` that pass `filter`, newest first: the
    /// seller's order desk. Show them with the shop's view (its lines only).
    pub async fn list_for_shop(
        &self,
        shop: &ShopId,
        filter: ShopOrderFilter,
        page: Page,
    ) -> Result<Vec<Order>> {
        self.backend.orders.list_by_shop(shop, filter, page).await
    }

    /// An order with at least one line of `shop`; any other is [`Error::NotFound`].
    pub async fn get_for_shop(&self, shop: &ShopId, id: &OrderId) -> Result<Order> {
        self.backend
            .orders
            .get(id)
            .await?
            .filter(|o| o.lines_of(shop).next().is_some())
            .ok_or_else(|| Error::not_found("order"))
    }

    /// The customer's orders, newest first.
    pub async fn list(&self, customer: &CustomerId, page: Page) -> Result<Vec<Order>> {
        self.backend.orders.list_by_customer(customer, page).await
    }

    /// One of the customer's orders; another customer's order is [`Error::NotFound`].
    pub async fn get(&self, customer: &CustomerId, id: &OrderId) -> Result<Order> {
        self.backend
            .orders
            .get(id)
            .await?
            .filter(|o| &o.customer_id == customer)
            .ok_or_else(|| Error::not_found("order"))
    }

    /// Cancels the customer's order while it is pending or confirmed: every line is cancelled,
    /// its stock returns and the discount uses go back; an unpaid payment fails, a paid one is
    /// refunded (asked of its provider). Exactly once: of concurrent cancels one wins, the
    /// others get [`Error::Conflict`].
    pub async fn cancel(&self, customer: &CustomerId, id: &OrderId) -> Result<Order> {
        let order = self.get(customer, id).await?;
        let cancelled = cancel_all(&self.backend, &order, self.lease, |_| {}).await?;
        self.stats.moved(&order, &cancelled);
        Ok(self.refund_if_due(cancelled).await)
    }

    /// Asks the order's provider for a refund if one is due (see
    /// [`PaymentService`](super::PaymentService)).
    async fn refund_if_due(&self, order: Order) -> Order {
        match self.config.payments.get(&order.payment.method, "method") {
            Ok(provider) => refund_due(&self.backend, provider.as_ref(), &self.stats, order).await,
            Err(_) => order,
        }
    }

    /// A shop changes the status of its own lines (valid transitions only; see
    /// [`OrderStatus::can_become`]) and may set a note and a tracking number. Lines of other
    /// shops are out of reach ([`Error::NotFound`]). Cancelled lines return their stock.
    pub async fn update_status(
        &self,
        shop: &ShopId,
        id: &OrderId,
        update: StatusUpdate,
    ) -> Result<Order> {
        if update.lines.is_empty() && update.note.is_none() && update.tracking_number.is_none() {
            return Err(Error::validation("orderProducts", "nothing to update"));
        }
        let note = update
            .note
            .as_deref()
            .map(|n| validate::optional_text("note", n, 1000))
            .transpose()?;
        let tracking = update
            .tracking_number
            .as_deref()
            .map(|t| validate::text("trackingNumber", t, 100))
            .transpose()?;
        for _ in 0..UPDATE_ATTEMPTS {
            let order = self
                .backend
                .orders
                .get(id)
                .await?
                .filter(|o| o.lines.iter().any(|l| &l.shop_id == shop))
                .ok_or_else(|| Error::not_found("order"))?;
            let mut next = order.clone();
            // Whether this update opened a claim of its own: only then does it finish the
            // returns. A claim it merely carries over (another cancel in flight) stays its
            // claimant's, so two callers never give back under one token at once.
            let mut claimed = false;
            for change in &update.lines {
                if change.product_ids.is_empty() {
                    return Err(Error::validation("productIds", "must not be empty"));
                }
                for product in &change.product_ids {
                    let mut matched = false;
                    for line in next.lines.iter_mut().filter(|l| {
                        (&l.product_id == product || l.model_id.as_ref() == Some(product))
                            && &l.shop_id == shop
                    }) {
                        matched = true;
                        if !line.status.can_become(change.status) {
                            return Err(Error::refused(
                                "order line",
                                format!("cannot go from {:?} to {:?}", line.status, change.status),
                            ));
                        }
                        if matches!(change.status, OrderStatus::Shipped | OrderStatus::Delivered)
                            && line.status != change.status
                            && !order.payment.allows_shipping()
                        {
                            return Err(Error::refused(
                                "order",
                                "is not paid: lines of an unpaid online order cannot go past confirmed",
                            ));
                        }
                        if change.status == OrderStatus::Cancelled
                            && line.status != OrderStatus::Cancelled
                        {
                            next.returning = Some(claim(self.backend.clock.now(), self.lease));
                            claimed = true;
                        }
                        line.status = change.status;
                    }
                    if !matched {
                        return Err(Error::not_found("order product"));
                    }
                }
            }
            if note.is_some() || tracking.is_some() {
                let index = match next.fulfilment.iter().position(|f| &f.shop_id == shop) {
                    Some(index) => index,
                    None => {
                        next.fulfilment.push(ShopFulfilment {
                            shop_id: shop.clone(),
                            tracking_number: None,
                            note: None,
                        });
                        next.fulfilment.len() - 1
                    }
                };
                let own = &mut next.fulfilment[index];
                if let Some(note) = &note {
                    own.note = Some(note.clone());
                }
                if let Some(tracking) = &tracking {
                    own.tracking_number = Some(tracking.clone());
                }
            }
            next.status = OrderStatus::roll_up(next.lines.iter().map(|l| l.status));
            let now = self.backend.clock.now();
            if next.status == OrderStatus::Cancelled && order.status != OrderStatus::Cancelled {
                next.payment.on_cancelled(now);
            }
            if next.status == OrderStatus::Delivered
                && next.payment.capture == Capture::OnDelivery
                && next.payment.status == PaymentStatus::Pending
            {
                next.payment.become_(PaymentStatus::Paid, now)?;
            }
            match self.save(&mut next, order.version).await {
                Ok(()) => {
                    self.stats.moved(&order, &next);
                    let next = match claimed {
                        true => finish_returns(&self.backend, next, self.lease).await?,
                        false => next,
                    };
                    return Ok(self.refund_if_due(next).await);
                }
                Err(e) if e.is_changed() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::changed("order"))
    }

    async fn save(&self, next: &mut Order, expected_version: u64) -> Result<()> {
        next.version = expected_version + 1;
        next.updated_at = self.backend.clock.now();
        self.backend.orders.replace(next, expected_version).await
    }
}

/// Cancels every line of `order` (pending or confirmed, lines cancellable) in one write
/// conditional on its version — [`Error::Conflict`] (changed) if another write came first,
/// [`Error::Conflict`] (refused) if it can no longer be cancelled — with `edit` applied to
/// the cancelled order before the write; an unpaid payment fails, a paid one gets a refund
/// due. Then gives back the stock and code uses ([`finish_returns`]).
pub(crate) async fn cancel_all(
    backend: &Backend,
    order: &Order,
    lease: Duration,
    edit: impl FnOnce(&mut Order),
) -> Result<Order> {
    let cancellable = matches!(order.status, OrderStatus::Pending | OrderStatus::Confirmed)
        && order
            .lines
            .iter()
            .all(|l| l.status.can_become(OrderStatus::Cancelled));
    if !cancellable {
        return Err(Error::refused(
            "order",
            format!("is {:?} and can no longer be cancelled", order.status),
        ));
    }
    let now = backend.clock.now();
    let mut next = order.clone();
    for line in &mut next.lines {
        line.status = OrderStatus::Cancelled;
    }
    next.status = OrderStatus::Cancelled;
    next.returning = Some(claim(now, lease));
    next.payment.on_cancelled(now);
    edit(&mut next);
    next.version = order.version + 1;
    next.updated_at = now;
    backend.orders.replace(&next, order.version).await?;
    finish_returns(backend, next, lease).await
}

/// Settles back to `sold` (and to the codes' taken uses) whatever the return claim `token`
/// opened for `order`'s owed lines and codes: the claim lost, so its holds must not be given back.
async fn settle_back(backend: &Backend, order: &Order, token: &str, now: Timestamp) -> Result<()> {
    let (lines, discounts) = owed(order);
    for i in lines {
        let line = &order.lines[i];
        let hold = Reservation {
            id: token.to_owned(),
            order_id: order.id.clone(),
            quantity: line.quantity,
            created_at: now,
        };
        backend
            .inventory
            .settle(line.stock_id(), std::slice::from_ref(&hold))
            .await?;
    }
    for i in discounts {
        let use_ = Redemption {
            id: token.to_owned(),
            ..code_use(order, now)
        };
        backend
            .discounts
            .settle(&order.discounts[i].discount_id, &use_)
            .await?;
    }
    Ok(())
}

/// A new return claim, due `lease` after `now`.
fn claim(now: Timestamp, lease: Duration) -> ReturnClaim {
    ReturnClaim {
        token: OrderId::generate().to_string(),
        deadline: now + lease,
    }
}

/// What an order owes back: its cancelled lines not yet returned, and the codes of shops whose
/// lines are all cancelled, not yet returned.
fn owed(order: &Order) -> (Vec<usize>, Vec<usize>) {
    let lines = order
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.status == OrderStatus::Cancelled && l.returned.is_none())
        .map(|(i, _)| i)
        .collect();
    let shop_done = |shop: &ShopId| {
        order
            .lines
            .iter()
            .filter(|l| &l.shop_id == shop)
            .all(|l| l.status == OrderStatus::Cancelled)
    };
    let discounts = order
        .discounts
        .iter()
        .enumerate()
        .filter(|(_, d)| d.returned.is_none() && shop_done(&d.shop_id))
        .map(|(i, _)| i)
        .collect();
    (lines, discounts)
}

/// Gives back the stock of `order`'s cancelled lines and the code uses of shops whose lines are
/// all cancelled, under the order's current return claim (taking over a claim past its
/// deadline with a fresh one). Exactly once whoever runs it and however often:
///
/// 1. for each owed line, the checkout's own hold is settled (if it was still open) and the
///    units reopen from `sold` as a hold named by the claim's token; the same for code uses;
/// 2. one conditional write records the token on those lines and codes and clears the claim —
///    the commit point of the return;
/// 3. the token's holds are given back (stock, code use, stock gate).
///
/// A claimant that loses step 2 to a newer claim settles its own token's holds back to `sold`;
/// recovery does that for a claimant that died. A failure before step 2 leaves the claim for
/// recovery to take over after its deadline; after it, the open holds are recovery's to give
/// back.
pub(crate) async fn finish_returns(
    backend: &Backend,
    mut order: Order,
    lease: Duration,
) -> Result<Order> {
    let now = backend.clock.now();
    if order.returning.as_ref().is_some_and(|c| c.deadline <= now) {
        // Take over a claim whose claimant stalled or died.
        let mut next = order.clone();
        next.returning = Some(claim(now, lease));
        next.version = order.version + 1;
        next.updated_at = now;
        match backend.orders.replace(&next, order.version).await {
            Ok(()) => {
                if let Some(stale) = &order.returning {
                    settle_back(backend, &order, &stale.token, now).await?;
                }
                order = next;
            }
            // Another claimant moved first; it finishes the returns.
            Err(e) if e.is_changed() => {
                return backend
                    .orders
                    .get(&order.id)
                    .await?
                    .ok_or_else(|| Error::not_found("order"))
            }
            Err(e) => return Err(e),
        }
    }
    let Some(claim) = order.returning.clone() else {
        return Ok(order);
    };
    let (lines, discounts) = owed(&order);
    let returns: Vec<(ProductId, Reservation)> = lines
        .iter()
        .map(|&i| {
            let line = &order.lines[i];
            let hold = Reservation {
                id: claim.token.clone(),
                order_id: order.id.clone(),
                quantity: line.quantity,
                created_at: now,
            };
            (line.stock_id().clone(), hold)
        })
        .collect();
    let uses: Vec<(crate::id::DiscountId, Redemption)> = discounts
        .iter()
        .map(|&i| {
            let use_ = Redemption {
                id: claim.token.clone(),
                ..code_use(&order, now)
            };
            (order.discounts[i].discount_id.clone(), use_)
        })
        .collect();
    // 1. Reopen what is owed under the claim's token.
    for (&i, (product, hold)) in lines.iter().zip(&returns) {
        let own = line_hold(&order, &order.lines[i], now);
        backend
            .inventory
            .settle(product, std::slice::from_ref(&own))
            .await?;
        backend.inventory.unsettle(product, hold).await?;
    }
    for (discount, use_) in &uses {
        backend
            .discounts
            .settle(discount, &code_use(&order, now))
            .await?;
        backend.discounts.unsettle(discount, use_).await?;
    }
    // 2. Record the return: the commit point.
    let mut current = order;
    let done = loop {
        let mut next = current.clone();
        for &i in &lines {
            next.lines[i].returned = Some(claim.token.clone());
        }
        for &i in &discounts {
            next.discounts[i].returned = Some(claim.token.clone());
        }
        next.returning = None;
        next.version = current.version + 1;
        next.updated_at = backend.clock.now();
        match backend.orders.replace(&next, current.version).await {
            Ok(()) => break next,
            Err(e) if e.is_changed() => {
                let fresh = backend
                    .orders
                    .get(&current.id)
                    .await?
                    .ok_or_else(|| Error::not_found("order"))?;
                if fresh.returning.as_ref() != Some(&claim) {
                    // Superseded (or finished by another claimant): undo what this claim opened.
                    settle_back(backend, &current, &claim.token, now).await?;
                    return Ok(fresh);
                }
                current = fresh;
            }
            Err(e) => return Err(e),
        }
    };
    // 3. Give back.
    for (product, hold) in &returns {
        let units = backend
            .inventory
            .release(product, std::slice::from_ref(hold))
            .await?;
        if units > 0 {
            let units = u32::try_from(units).unwrap_or(u32::MAX);
            if let Err(e) = backend.gate.add(product, units).await {
                // The store has the units back; a gate that missed them only counts low.
                tracing::warn!(order_id = %done.id, error = %e, "stock gate add failed");
            }
        }
    }
    for (discount, use_) in &uses {
        backend.discounts.release(discount, use_).await?;
    }
    let products = lines.iter().map(|&i| done.lines[i].product_id.clone());
    super::catalogue::record_sales(backend, products).await;
    Ok(done)
}
