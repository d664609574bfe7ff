use super::outbox::{HasOutbox, Outbox};
use crate::clock::Timestamp;
use crate::discount::{Discount, DiscountRepo, Redemption};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::{CustomerId, DiscountId, EventId, OrderId, ShopId};
use crate::in_process::sync::locked;
use crate::in_process::sync::{Map, Set};
use crate::page::Page;
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// In-process [`DiscountRepo`]. Each customer's uses of a code are kept beside the code, by
/// order id, as the MongoDB adapter keeps them in a document of their own.
#[derive(Debug, Default)]
pub struct MemoryDiscounts {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    discounts: Map<DiscountId, Discount>,
    by_customer: Map<(DiscountId, CustomerId), BTreeSet<OrderId>>,
    /// Codes marked exhausted (their event made).
    exhausted: Set<DiscountId>,
    /// Events waiting, per code.
    outbox: Outbox,
}

fn active_code<'a>(
    discounts: &'a mut Map<DiscountId, Discount>,
    shop_id: &ShopId,
    code: &str,
) -> Option<&'a mut Discount> {
    discounts
        .values_mut()
        .find(|d| d.is_active && &d.shop_id == shop_id && d.code == code)
}

/// Removes the open use `id` of `discount`; true if it was open.
fn close(discount: &mut Discount, id: &str) -> bool {
    let before = discount.open.len();
    discount.open.retain(|r| r.id != id);
    discount.open.len() != before
}

#[async_trait]
impl DiscountRepo for MemoryDiscounts {
    async fn insert(&self, discount: &Discount) -> Result<()> {
        let mut inner = locked(&self.inner);
        let duplicate = discount.is_active
            && active_code(&mut inner.discounts, &discount.shop_id, &discount.code).is_some();
        if duplicate || inner.discounts.contains_key(&discount.id) {
            return Err(Error::already_exists("discount code"));
        }
        inner
            .discounts
            .insert(discount.id.clone(), discount.clone());
        Ok(())
    }

    async fn get(&self, id: &DiscountId) -> Result<Option<Discount>> {
        Ok(locked(&self.inner).discounts.get(id).cloned())
    }

    async fn find_active_by_code(&self, shop_id: &ShopId, code: &str) -> Result<Option<Discount>> {
        let mut inner = locked(&self.inner);
        Ok(active_code(&mut inner.discounts, shop_id, code).map(|d| d.clone()))
    }

    async fn list_active(&self, shop_id: &ShopId, page: Page) -> Result<Vec<Discount>> {
        let inner = locked(&self.inner);
        let mut own: Vec<&Discount> = inner
            .discounts
            .values()
            .filter(|d| d.is_active && &d.shop_id == shop_id)
            .collect();
        own.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(page.apply(own.into_iter().cloned()))
    }

    async fn delete(&self, shop_id: &ShopId, code: &str) -> Result<bool> {
        let mut inner = locked(&self.inner);
        let id = active_code(&mut inner.discounts, shop_id, code).map(|d| d.id.clone());
        Ok(id.is_some_and(|id| inner.discounts.remove(&id).is_some()))
    }

    async fn uses_by(&self, id: &DiscountId, customer: &CustomerId) -> Result<u32> {
        let inner = locked(&self.inner);
        let n = inner
            .by_customer
            .get(&(id.clone(), customer.clone()))
            .map_or(0, BTreeSet::len);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn orders_using(&self, id: &DiscountId, customer: &CustomerId) -> Result<Vec<OrderId>> {
        let inner = locked(&self.inner);
        Ok(inner
            .by_customer
            .get(&(id.clone(), customer.clone()))
            .map(|orders| orders.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn redeem(&self, id: &DiscountId, use_: &Redemption) -> Result<()> {
        let mut inner = locked(&self.inner);
        let Inner {
            discounts,
            by_customer,
            ..
        } = &mut *inner;
        let discount = discounts
            .get_mut(id)
            .ok_or_else(|| Error::not_found("discount"))?;
        if discount.open.iter().any(|r| r.id == use_.id) {
            return Ok(());
        }
        if !discount.is_active {
            return Err(Error::DiscountNotApplicable(
                "the code is not active".into(),
            ));
        }
        if !(discount.starts_at <= use_.at && use_.at < discount.ends_at) {
            return Err(Error::DiscountNotApplicable(
                "the code is not valid at this time".into(),
            ));
        }
        if discount.uses >= discount.max_uses {
            return Err(Error::DiscountNotApplicable("the code is used up".into()));
        }
        let mine = by_customer
            .entry((id.clone(), use_.customer_id.clone()))
            .or_default();
        if !mine.contains(&use_.order_id) && mine.len() >= discount.max_uses_per_customer as usize {
            return Err(Error::DiscountNotApplicable(
                "you have used this code the maximum number of times".into(),
            ));
        }
        mine.insert(use_.order_id.clone());
        discount.uses += 1;
        discount.open.push(use_.clone());
        Ok(())
    }

    async fn release(&self, id: &DiscountId, use_: &Redemption) -> Result<bool> {
        let mut inner = locked(&self.inner);
        let Inner {
            discounts,
            by_customer,
            ..
        } = &mut *inner;
        let Some(discount) = discounts.get_mut(id) else {
            return Ok(false);
        };
        if !close(discount, &use_.id) {
            return Ok(false);
        }
        discount.uses = discount.uses.saturating_sub(1);
        if let Some(mine) = by_customer.get_mut(&(id.clone(), use_.customer_id.clone())) {
            mine.remove(&use_.order_id);
        }
        Ok(true)
    }

    async fn settle(&self, id: &DiscountId, use_: &Redemption) -> Result<bool> {
        let mut inner = locked(&self.inner);
        Ok(inner
            .discounts
            .get_mut(id)
            .is_some_and(|discount| close(discount, &use_.id)))
    }

    async fn unsettle(&self, id: &DiscountId, use_: &Redemption) -> Result<()> {
        let mut inner = locked(&self.inner);
        let discount = inner
            .discounts
            .get_mut(id)
            .ok_or_else(|| Error::not_found("discount"))?;
        if !discount.open.iter().any(|r| r.id == use_.id) {
            discount.open.push(use_.clone());
        }
        Ok(())
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(DiscountId, Redemption)>> {
        let inner = locked(&self.inner);
        let mut stale: Vec<(DiscountId, Redemption)> = inner
            .discounts
            .values()
            .flat_map(|d| {
                d.open
                    .iter()
                    .filter(|r| r.at < before)
                    .map(|r| (d.id.clone(), r.clone()))
            })
            .collect();
        // Oldest first; one order's uses of several codes tie, broken by code id.
        stale.sort_by(|a, b| (a.1.at, &a.1.id, &a.0).cmp(&(b.1.at, &b.1.id, &b.0)));
        stale.truncate(limit as usize);
        Ok(stale)
    }

    async fn mark_exhausted(&self, id: &DiscountId, event: &Event) -> Result<bool> {
        let mut inner = locked(&self.inner);
        let used_up = inner
            .discounts
            .get(id)
            .is_some_and(|d| d.uses >= d.max_uses);
        if !used_up || !inner.exhausted.insert(id.clone()) {
            return Ok(false);
        }
        inner.outbox.push(id.as_str(), std::slice::from_ref(event));
        Ok(true)
    }
}

impl HasOutbox for MemoryDiscounts {
    fn outbox_waiting(&self, limit: u32) -> Vec<(String, Vec<Event>)> {
        locked(&self.inner).outbox.waiting(limit)
    }

    fn outbox_clear(&self, id: &str, ids: &[EventId]) {
        locked(&self.inner).outbox.clear(id, ids);
    }
}
