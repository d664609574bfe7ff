use crate::cart::{Cart, CartLine, CartRepo, CartState};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{CartId, CustomerId, ProductId};
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`CartRepo`]: the active cart of each customer.
#[derive(Debug, Default)]
pub struct MemoryCarts {
    active: Mutex<Map<CustomerId, Cart>>,
}

fn quantity_error(max: u32) -> Error {
    Error::validation("quantity", format!("must be between 1 and {max}"))
}

#[async_trait]
impl CartRepo for MemoryCarts {
    async fn get_active(&self, customer_id: &CustomerId) -> Result<Option<Cart>> {
        Ok(locked(&self.active).get(customer_id).cloned())
    }

    async fn add_line(
        &self,
        customer_id: &CustomerId,
        line: &CartLine,
        max_quantity: u32,
        now: Timestamp,
    ) -> Result<Cart> {
        let mut carts = locked(&self.active);
        let existing = carts.get(customer_id);
        let current = existing
            .and_then(|c| c.lines.iter().find(|l| l.stock_id() == line.stock_id()))
            .map_or(0, |l| l.quantity);
        let total = u64::from(current) + u64::from(line.quantity);
        if line.quantity == 0 || total > u64::from(max_quantity) {
            return Err(quantity_error(max_quantity));
        }
        let cart = carts.entry(customer_id.clone()).or_insert_with(|| Cart {
            id: CartId::generate(),
            customer_id: customer_id.clone(),
            state: CartState::Active,
            lines: Vec::new(),
            created_at: now,
            updated_at: now,
        });
        match cart
            .lines
            .iter_mut()
            .find(|l| l.stock_id() == line.stock_id())
        {
            Some(existing) => existing.quantity += line.quantity,
            None => cart.lines.push(line.clone()),
        }
        cart.updated_at = now;
        Ok(cart.clone())
    }

    async fn adjust_line(
        &self,
        customer_id: &CustomerId,
        product_id: &ProductId,
        delta: i64,
        max_quantity: u32,
        now: Timestamp,
    ) -> Result<Cart> {
        let mut carts = locked(&self.active);
        let cart = carts
            .get_mut(customer_id)
            .ok_or_else(|| Error::not_found("cart"))?;
        let line = cart
            .lines
            .iter_mut()
            .find(|l| l.stock_id() == product_id)
            .ok_or_else(|| Error::not_found("cart product"))?;
        let next = i64::from(line.quantity).saturating_add(delta);
        if next < 1 || next > i64::from(max_quantity) {
            return Err(quantity_error(max_quantity));
        }
        line.quantity = u32::try_from(next).map_err(|_| quantity_error(max_quantity))?;
        cart.updated_at = now;
        Ok(cart.clone())
    }

    async fn remove_lines(
        &self,
        customer_id: &CustomerId,
        product_ids: &[ProductId],
        now: Timestamp,
    ) -> Result<Option<Cart>> {
        let mut carts = locked(&self.active);
        Ok(carts.get_mut(customer_id).map(|cart| {
            cart.lines.retain(|l| !product_ids.contains(l.stock_id()));
            cart.updated_at = now;
            cart.clone()
        }))
    }
}
