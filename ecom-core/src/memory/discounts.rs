use super::locked;
use crate::discount::{Discount, DiscountRepo, Redemption};
use crate::error::{Error, Result};
use crate::id::{DiscountId, ShopId};
use crate::page::Page;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// In-process [`DiscountRepo`].
#[derive(Debug, Default)]
pub struct MemoryDiscounts {
    discounts: Mutex<HashMap<DiscountId, Discount>>,
}

fn active_code<'a>(
    discounts: &'a mut HashMap<DiscountId, Discount>,
    shop_id: &ShopId,
    code: &str,
) -> Option<&'a mut Discount> {
    discounts
        .values_mut()
        .find(|d| d.is_active && &d.shop_id == shop_id && d.code == code)
}

#[async_trait]
impl DiscountRepo for MemoryDiscounts {
    async fn insert(&self, discount: &Discount) -> Result<()> {
        let mut discounts = locked(&self.discounts);
        let duplicate = discount.is_active
            && active_code(&mut discounts, &discount.shop_id, &discount.code).is_some();
        if duplicate || discounts.contains_key(&discount.id) {
            return Err(Error::Conflict(format!(
                "discount code {} already exists",
                discount.code
            )));
        }
        discounts.insert(discount.id.clone(), discount.clone());
        Ok(())
    }

    async fn get(&self, id: &DiscountId) -> Result<Option<Discount>> {
        Ok(locked(&self.discounts).get(id).cloned())
    }

    async fn find_active_by_code(&self, shop_id: &ShopId, code: &str) -> Result<Option<Discount>> {
        let mut discounts = locked(&self.discounts);
        Ok(active_code(&mut discounts, shop_id, code).map(|d| d.clone()))
    }

    async fn list_active(&self, shop_id: &ShopId, page: Page) -> Result<Vec<Discount>> {
        let discounts = locked(&self.discounts);
        let mut own: Vec<&Discount> = discounts
            .values()
            .filter(|d| d.is_active && &d.shop_id == shop_id)
            .collect();
        own.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(page.apply(own.into_iter().cloned()))
    }

    async fn delete(&self, shop_id: &ShopId, code: &str) -> Result<bool> {
        let mut discounts = locked(&self.discounts);
        let id = active_code(&mut discounts, shop_id, code).map(|d| d.id.clone());
        Ok(id.is_some_and(|id| discounts.remove(&id).is_some()))
    }

    async fn redeem(&self, id: &DiscountId, redemption: &Redemption) -> Result<Discount> {
        let mut discounts = locked(&self.discounts);
        let discount = discounts
            .get_mut(id)
            .ok_or_else(|| Error::not_found("discount"))?;
        if discount.redemptions.iter().any(|r| r.id == redemption.id) {
            return Ok(discount.clone());
        }
        if !discount.is_active {
            return Err(Error::DiscountNotApplicable(
                "the code is not active".into(),
            ));
        }
        if discount.uses_count() >= discount.max_uses {
            return Err(Error::DiscountNotApplicable("the code is used up".into()));
        }
        if discount.uses_by(&redemption.customer_id) >= discount.max_uses_per_user {
            return Err(Error::DiscountNotApplicable(
                "you have used this code the maximum number of times".into(),
            ));
        }
        discount.redemptions.push(redemption.clone());
        Ok(discount.clone())
    }

    async fn unredeem(&self, id: &DiscountId, redemption_id: &str) -> Result<bool> {
        let mut discounts = locked(&self.discounts);
        let Some(discount) = discounts.get_mut(id) else {
            return Ok(false);
        };
        let before = discount.redemptions.len();
        discount.redemptions.retain(|r| r.id != redemption_id);
        Ok(discount.redemptions.len() != before)
    }
}
