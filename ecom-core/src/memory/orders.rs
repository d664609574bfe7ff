use super::locked;
use crate::error::{Error, Result};
use crate::id::{CustomerId, OrderId};
use crate::order::{Order, OrderRepo};
use crate::page::Page;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// In-process [`OrderRepo`].
#[derive(Debug, Default)]
pub struct MemoryOrders {
    orders: Mutex<HashMap<OrderId, Order>>,
}

#[async_trait]
impl OrderRepo for MemoryOrders {
    async fn insert(&self, order: &Order) -> Result<()> {
        let mut orders = locked(&self.orders);
        if orders.contains_key(&order.id) {
            return Err(Error::Conflict("order exists".into()));
        }
        orders.insert(order.id.clone(), order.clone());
        Ok(())
    }

    async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        Ok(locked(&self.orders).get(id).cloned())
    }

    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>> {
        let orders = locked(&self.orders);
        let mut own: Vec<&Order> = orders
            .values()
            .filter(|o| &o.customer_id == customer_id)
            .collect();
        own.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(page.apply(own.into_iter().cloned()))
    }

    async fn replace(&self, order: &Order, expected_version: u64) -> Result<()> {
        let mut orders = locked(&self.orders);
        let stored = orders
            .get_mut(&order.id)
            .ok_or_else(|| Error::not_found("order"))?;
        if stored.version != expected_version {
            return Err(Error::Conflict("order was changed concurrently".into()));
        }
        *stored = order.clone();
        Ok(())
    }

    async fn list_returns_pending(&self, limit: u32) -> Result<Vec<Order>> {
        let orders = locked(&self.orders);
        let mut pending: Vec<&Order> = orders.values().filter(|o| o.returns_pending).collect();
        pending.sort_by_key(|o| o.updated_at);
        Ok(pending.into_iter().take(limit as usize).cloned().collect())
    }
}
