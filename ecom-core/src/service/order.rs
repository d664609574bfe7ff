//! Orders: the customer's list, cancel, and the shops' status updates.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::order::{Order, OrderStatus};
use crate::page::Page;
use crate::validate;

/// How often a conditional order update is retried after losing to a concurrent one.
const UPDATE_ATTEMPTS: usize = 5;

/// A status change for some of a shop's lines of an order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineStatusChange {
    /// The lines' products.
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
}

impl OrderService {
    pub(crate) fn new(backend: Backend) -> Self {
        OrderService { backend }
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
    /// its stock returns and the discount uses go back. Exactly once: of concurrent cancels one
    /// wins, the others get [`Error::Conflict`].
    pub async fn cancel(&self, customer: &CustomerId, id: &OrderId) -> Result<Order> {
        let order = self.get(customer, id).await?;
        let cancellable = matches!(order.status, OrderStatus::Pending | OrderStatus::Confirmed)
            && order
                .lines
                .iter()
                .all(|l| l.status.can_become(OrderStatus::Cancelled));
        if !cancellable {
            return Err(Error::Conflict(format!(
                "order is {:?} and can no longer be cancelled",
                order.status
            )));
        }
        let mut next = order.clone();
        for line in &mut next.lines {
            line.status = OrderStatus::Cancelled;
        }
        next.status = OrderStatus::Cancelled;
        next.returns_pending = true;
        self.save(&mut next, order.version).await?;
        finish_returns(&self.backend, next).await
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
            for change in &update.lines {
                if change.product_ids.is_empty() {
                    return Err(Error::validation("productIds", "must not be empty"));
                }
                for product in &change.product_ids {
                    let line = next
                        .lines
                        .iter_mut()
                        .find(|l| &l.product_id == product && &l.shop_id == shop)
                        .ok_or_else(|| Error::not_found("order product"))?;
                    if !line.status.can_become(change.status) {
                        return Err(Error::Conflict(format!(
                            "a line cannot go from {:?} to {:?}",
                            line.status, change.status
                        )));
                    }
                    if change.status == OrderStatus::Cancelled
                        && line.status != OrderStatus::Cancelled
                    {
                        next.returns_pending = true;
                    }
                    line.status = change.status;
                }
            }
            if let Some(note) = &note {
                next.note = Some(note.clone());
            }
            if let Some(tracking) = &tracking {
                next.tracking_number = Some(tracking.clone());
            }
            next.status = OrderStatus::roll_up(next.lines.iter().map(|l| l.status));
            match self.save(&mut next, order.version).await {
                Ok(()) if next.returns_pending => return finish_returns(&self.backend, next).await,
                Ok(()) => return Ok(next),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(
            "order is being changed by others; retry".into(),
        ))
    }

    async fn save(&self, next: &mut Order, expected_version: u64) -> Result<()> {
        next.version = expected_version + 1;
        next.updated_at = self.backend.clock.now();
        self.backend.orders.replace(next, expected_version).await
    }
}

/// Returns the stock of the order's cancelled lines and the discount uses of shops whose lines
/// are all cancelled, then clears `returns_pending`. Idempotent (returns are keyed by the
/// checkout id), so a crash half-way is finished by the next call or by recovery.
pub(crate) async fn finish_returns(backend: &Backend, mut order: Order) -> Result<Order> {
    for _ in 0..UPDATE_ATTEMPTS {
        if !order.returns_pending {
            return Ok(order);
        }
        let reservation = order.checkout_id.to_string();
        let mut returned = Vec::new();
        for line in &order.lines {
            if line.status == OrderStatus::Cancelled && !line.stock_returned {
                backend
                    .inventory
                    .release(&line.product_id, &reservation)
                    .await?;
                returned.push(line.product_id.clone());
            }
        }
        if let Err(e) = backend.gate.release(&reservation, &returned).await {
            // The store has the units back; a gate that missed them only counts low until it is
            // rebuilt (InventoryService::rebuild_gate). Not worth failing the cancel for.
            tracing::warn!(order_id = %order.id, error = %e, "stock gate release failed");
        }
        let shop_done = |shop: &ShopId| {
            order
                .lines
                .iter()
                .filter(|l| &l.shop_id == shop)
                .all(|l| l.status == OrderStatus::Cancelled)
        };
        let mut returned_discounts = Vec::new();
        for (i, applied) in order.discounts.iter().enumerate() {
            if !applied.returned && shop_done(&applied.shop_id) {
                backend
                    .discounts
                    .unredeem(&applied.discount_id, &reservation)
                    .await?;
                returned_discounts.push(i);
            }
        }
        let mut next = order.clone();
        for line in &mut next.lines {
            if line.status == OrderStatus::Cancelled {
                line.stock_returned = true;
            }
        }
        for i in returned_discounts {
            next.discounts[i].returned = true;
        }
        next.returns_pending = false;
        next.version = order.version + 1;
        next.updated_at = backend.clock.now();
        match backend.orders.replace(&next, order.version).await {
            Ok(()) => return Ok(next),
            Err(Error::Conflict(_)) => {
                order = backend
                    .orders
                    .get(&order.id)
                    .await?
                    .ok_or_else(|| Error::not_found("order"))?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(
        "order is being changed by others; retry".into(),
    ))
}
