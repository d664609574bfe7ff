//! Orders: the customer's list, cancel, and the shops' status updates.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::order::{Order, OrderStatus, ShopFulfilment, ShopOrderFilter};
use crate::page::Page;
use crate::payment::{Capture, PaymentStatus};
use crate::service::cancellation::{cancelled, claim, finish_returns};
use crate::service::config::EcomConfig;
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};
use crate::service::payment_stats::PaymentStats;
use crate::service::refunds::refund_due;
use crate::validate;
use chrono::Duration;
use std::sync::Arc;

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
    /// others get [`Error::Conflict`]; an unrelated change of the order in between (a payment,
    /// a note) does not stop it.
    pub async fn cancel(&self, customer: &CustomerId, id: &OrderId) -> Result<Order> {
        let order = self.get(customer, id).await?;
        let now = self.backend.clock.now();
        let done = update_order(&self.backend, order, Actor::Customer, |current| {
            Ok(Edit::save(cancelled(current, now, self.lease)?))
        })
        .await?;
        self.stats.moved(&done.before, &done.after);
        let cancelled = finish_returns(&self.backend, done.after, self.lease).await?;
        Ok(self.refund_if_due(cancelled).await)
    }

    /// Asks the order's provider for a refund if one is due (see
    /// [`PaymentService`](crate::service::PaymentService)).
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
            return Err(Error::validation("lines", "nothing to update"));
        }
        let note = update
            .note
            .as_deref()
            .map(|n| validate::optional_text("note", n, 1000))
            .transpose()?;
        let tracking = update
            .tracking_number
            .as_deref()
            .map(|t| validate::text("tracking_number", t, 100))
            .transpose()?;
        for change in &update.lines {
            if change.product_ids.is_empty() {
                return Err(Error::validation("product_ids", "must not be empty"));
            }
        }
        let order = self.get_for_shop(shop, id).await?;
        let now = self.backend.clock.now();
        // Whether this update opened a claim of its own: only then does it finish the
        // returns. A claim it merely carries over (another cancel in flight) stays its
        // claimant's, so two callers never give back under one token at once.
        let mut claimed = false;
        let done = update_order(&self.backend, order, Actor::Shop(shop.clone()), |current| {
            claimed = false;
            let mut next = current.clone();
            for change in &update.lines {
                if move_lines(&mut next, shop, change, now, self.lease)? {
                    claimed = true;
                }
            }
            if note.is_some() || tracking.is_some() {
                fulfil(&mut next, shop, note.as_ref(), tracking.as_ref());
            }
            next.status = OrderStatus::roll_up(next.lines.iter().map(|l| l.status));
            if next.status == OrderStatus::Cancelled && current.status != OrderStatus::Cancelled {
                next.payment.on_cancelled(now);
            }
            if next.status == OrderStatus::Delivered
                && next.payment.capture == Capture::OnDelivery
                && next.payment.status == PaymentStatus::Pending
            {
                next.payment.become_(PaymentStatus::Paid, now)?;
            }
            Ok(Edit::save(next))
        })
        .await?;
        self.stats.moved(&done.before, &done.after);
        let next = match claimed {
            true => finish_returns(&self.backend, done.after, self.lease).await?,
            false => done.after,
        };
        Ok(self.refund_if_due(next).await)
    }
}

/// Moves the lines of `shop` in `order` that `change` names (a product id names each of its
/// models' lines, a model id its own) to the change's status; whether a cancel opened a
/// return claim. Refused: a move [`OrderStatus::can_become`] forbids, or shipping an unpaid
/// online order; a name that matches none of the shop's lines is [`Error::NotFound`].
fn move_lines(
    order: &mut Order,
    shop: &ShopId,
    change: &LineStatusChange,
    now: crate::clock::Timestamp,
    lease: Duration,
) -> Result<bool> {
    let mut claimed = false;
    let allows_shipping = order.payment.allows_shipping();
    for product in &change.product_ids {
        let mut matched = false;
        for line in order.lines.iter_mut().filter(|l| {
            (&l.product_id == product || l.model_id.as_ref() == Some(product)) && &l.shop_id == shop
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
                && !allows_shipping
            {
                return Err(Error::refused(
                    "order",
                    "is not paid: lines of an unpaid online order cannot go past confirmed",
                ));
            }
            if change.status == OrderStatus::Cancelled && line.status != OrderStatus::Cancelled {
                claimed = true;
            }
            if change.status == OrderStatus::Delivered && line.status != OrderStatus::Delivered {
                line.delivered_at = Some(now);
            }
            line.status = change.status;
        }
        if !matched {
            return Err(Error::not_found("order product"));
        }
    }
    if claimed {
        order.returning = Some(claim(now, lease));
    }
    Ok(claimed)
}

/// Sets `shop`'s note and tracking number on `order`.
fn fulfil(order: &mut Order, shop: &ShopId, note: Option<&String>, tracking: Option<&String>) {
    let index = match order.fulfilment.iter().position(|f| &f.shop_id == shop) {
        Some(index) => index,
        None => {
            order.fulfilment.push(ShopFulfilment {
                shop_id: shop.clone(),
                tracking_number: None,
                note: None,
            });
            order.fulfilment.len() - 1
        }
    };
    let own = &mut order.fulfilment[index];
    if let Some(note) = note {
        own.note = Some(note.clone());
    }
    if let Some(tracking) = tracking {
        own.tracking_number = Some(tracking.clone());
    }
}
