use super::outbox::{HasOutbox, Outbox};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::EventId;
use crate::id::{CustomerId, OrderId, ReturnId, ShopId};
use crate::in_process::sync::locked;
use crate::in_process::sync::{Map, Set};
use crate::order::{Order, OrderRepo, ShopOrderFilter};
use crate::page::Page;
use crate::returns::ReturnFilter;
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`OrderRepo`], indexed by customer and by idempotency key.
#[derive(Debug, Default)]
pub struct MemoryOrders {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    orders: Map<OrderId, Order>,
    by_customer: Map<CustomerId, Vec<OrderId>>,
    by_key: Map<(CustomerId, String), OrderId>,
    voided: Set<OrderId>,
    /// Orders with a return claim.
    returning: Set<OrderId>,
    /// Orders whose payment has a due time.
    payment_due: Set<OrderId>,
    /// Orders with at least one return.
    with_returns: Set<OrderId>,
    /// Orders by the shops of their lines.
    by_shop: Map<ShopId, Vec<OrderId>>,
    /// Events waiting, per order.
    outbox: Outbox,
}

impl Inner {
    fn index_payment(&mut self, order: &Order) {
        if order.payment.due_at().is_some() {
            self.payment_due.insert(order.id.clone());
        } else {
            self.payment_due.remove(&order.id);
        }
        if order.returns.is_empty() {
            self.with_returns.remove(&order.id);
        } else {
            self.with_returns.insert(order.id.clone());
        }
    }

    fn with_returns(&self) -> impl Iterator<Item = &Order> + '_ {
        self.with_returns
            .iter()
            .filter_map(|id| self.orders.get(id))
    }
}

/// Newest first, ties by id descending.
fn newest_first(a: &&Order, b: &&Order) -> std::cmp::Ordering {
    b.created_at
        .cmp(&a.created_at)
        .then_with(|| b.id.cmp(&a.id))
}

#[async_trait]
impl OrderRepo for MemoryOrders {
    async fn insert(&self, order: &Order, events: &[Event]) -> Result<()> {
        let mut inner = locked(&self.inner);
        let key = (order.customer_id.clone(), order.idempotency_key.clone());
        if inner.orders.contains_key(&order.id)
            || inner.voided.contains(&order.id)
            || inner.by_key.contains_key(&key)
        {
            return Err(Error::already_exists("order"));
        }
        inner.by_key.insert(key, order.id.clone());
        inner
            .by_customer
            .entry(order.customer_id.clone())
            .or_default()
            .push(order.id.clone());
        let mut shops: Vec<&ShopId> = order.lines.iter().map(|l| &l.shop_id).collect();
        shops.sort();
        shops.dedup();
        for shop in shops {
            inner
                .by_shop
                .entry(shop.clone())
                .or_default()
                .push(order.id.clone());
        }
        inner.index_payment(order);
        inner.orders.insert(order.id.clone(), order.clone());
        inner.outbox.push(order.id.as_str(), events);
        Ok(())
    }

    async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        Ok(locked(&self.inner).orders.get(id).cloned())
    }

    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        idempotency_key: &str,
    ) -> Result<Option<Order>> {
        let inner = locked(&self.inner);
        Ok(inner
            .by_key
            .get(&(customer_id.clone(), idempotency_key.to_owned()))
            .and_then(|id| inner.orders.get(id))
            .cloned())
    }

    async fn void(&self, id: &OrderId) -> Result<Option<Order>> {
        let mut inner = locked(&self.inner);
        if let Some(order) = inner.orders.get(id) {
            return Ok(Some(order.clone()));
        }
        inner.voided.insert(id.clone());
        Ok(None)
    }

    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>> {
        let inner = locked(&self.inner);
        let mut own: Vec<&Order> = inner
            .by_customer
            .get(customer_id)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.orders.get(id))
            .collect();
        own.sort_by(newest_first);
        Ok(page.apply(own.into_iter().cloned()))
    }

    async fn replace(&self, order: &Order, expected_version: u64, events: &[Event]) -> Result<()> {
        let mut inner = locked(&self.inner);
        let stored = inner
            .orders
            .get_mut(&order.id)
            .ok_or_else(|| Error::not_found("order"))?;
        if stored.version != expected_version {
            return Err(Error::changed("order"));
        }
        *stored = order.clone();
        if order.returning.is_some() {
            inner.returning.insert(order.id.clone());
        } else {
            inner.returning.remove(&order.id);
        }
        inner.index_payment(order);
        inner.outbox.push(order.id.as_str(), events);
        Ok(())
    }

    async fn list_returning(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>> {
        let inner = locked(&self.inner);
        let mut due: Vec<&Order> = inner
            .returning
            .iter()
            .filter_map(|id| inner.orders.get(id))
            .filter(|o| o.returning.as_ref().is_some_and(|c| c.deadline < now))
            .collect();
        due.sort_by_key(|o| (o.returning.as_ref().map(|c| c.deadline), &o.id));
        Ok(due.into_iter().take(limit as usize).cloned().collect())
    }

    async fn find_by_return(&self, id: &ReturnId) -> Result<Option<Order>> {
        let inner = locked(&self.inner);
        let found = inner.with_returns().find(|o| o.return_of(id).is_some());
        Ok(found.cloned())
    }

    async fn list_with_returns(&self, filter: &ReturnFilter, page: Page) -> Result<Vec<Order>> {
        let inner = locked(&self.inner);
        let mut found: Vec<&Order> = inner
            .with_returns()
            .filter(|o| o.returns.iter().any(|r| filter.matches(r)))
            .collect();
        found.sort_by(newest_first);
        Ok(page.apply(found.into_iter().cloned()))
    }

    async fn list_returns_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>> {
        let inner = locked(&self.inner);
        let mut due: Vec<(Timestamp, &Order)> = inner
            .with_returns()
            .filter_map(|o| o.returns_due().filter(|at| *at <= now).map(|at| (at, o)))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|(_, o)| o.clone())
            .collect())
    }

    async fn list_payments_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>> {
        let inner = locked(&self.inner);
        let mut due: Vec<(Timestamp, &Order)> = inner
            .payment_due
            .iter()
            .filter_map(|id| inner.orders.get(id))
            .filter_map(|o| o.payment.due_at().filter(|at| *at <= now).map(|at| (at, o)))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|(_, o)| o.clone())
            .collect())
    }

    async fn list_by_shop(
        &self,
        shop: &ShopId,
        filter: ShopOrderFilter,
        page: Page,
    ) -> Result<Vec<Order>> {
        let inner = locked(&self.inner);
        let mut own: Vec<&Order> = inner
            .by_shop
            .get(shop)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.orders.get(id))
            .filter(|o| filter.matches(shop, o))
            .collect();
        own.sort_by(newest_first);
        Ok(page.apply(own.into_iter().cloned()))
    }
}

impl HasOutbox for MemoryOrders {
    fn outbox_waiting(&self, limit: u32) -> Vec<(String, Vec<Event>)> {
        locked(&self.inner).outbox.waiting(limit)
    }

    fn outbox_clear(&self, id: &str, ids: &[EventId]) {
        locked(&self.inner).outbox.clear(id, ids);
    }
}
