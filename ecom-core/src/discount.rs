//! Discount codes and the repository port.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{CustomerId, DiscountId, ProductId, ShopId};
use crate::money::Money;
use crate::page::Page;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// How a discount reduces the price.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum DiscountValue {
    /// A percentage in basis points (`1000` = 10%), at most `10000`.
    Percentage(u32),
    /// A fixed amount off.
    Fixed(Money),
}

/// Which products a discount counts.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "applies_to", content = "product_ids", rename_all = "snake_case")]
pub enum AppliesTo {
    /// Every product of the shop.
    All,
    /// Only these products of the shop.
    SpecificProducts(Vec<ProductId>),
}

/// One use of a discount, made by a checkout.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Redemption {
    /// Who makes it unique: the checkout id. Redeeming the same id twice is one use.
    pub id: String,
    /// The customer.
    pub customer_id: CustomerId,
    /// When.
    pub at: Timestamp,
}

/// A shop's discount code.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Discount {
    /// The id (`codeId` in the API).
    pub id: DiscountId,
    /// The owning shop.
    pub shop_id: ShopId,
    /// The code customers type; unique among the shop's active codes.
    pub code: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Percentage or fixed amount.
    pub value: DiscountValue,
    /// Valid from (inclusive).
    pub starts_at: Timestamp,
    /// Valid until (exclusive).
    pub ends_at: Timestamp,
    /// Total uses allowed.
    pub max_uses: u32,
    /// Uses allowed per customer.
    pub max_uses_per_user: u32,
    /// Minimum value of the applicable lines for the code to apply.
    pub min_order_value: Money,
    /// Inactive codes never apply.
    pub is_active: bool,
    /// Which products count.
    pub applies_to: AppliesTo,
    /// Uses so far; never more than `max_uses`.
    pub redemptions: Vec<Redemption>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Discount {
    /// Uses so far.
    pub fn uses_count(&self) -> u32 {
        u32::try_from(self.redemptions.len()).unwrap_or(u32::MAX)
    }

    /// Uses so far by `customer`.
    pub fn uses_by(&self, customer: &CustomerId) -> u32 {
        let n = self
            .redemptions
            .iter()
            .filter(|r| &r.customer_id == customer)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// Storage of discounts. Redemption is a conditional write: limits hold under concurrency.
#[async_trait]
pub trait DiscountRepo: Send + Sync + Debug + 'static {
    /// Inserts a discount; [`Error::Conflict`](crate::Error::Conflict) if the shop already has an
    /// active discount with the same code (atomically).
    async fn insert(&self, discount: &Discount) -> Result<()>;

    /// The discount with `id`, if any.
    async fn get(&self, id: &DiscountId) -> Result<Option<Discount>>;

    /// The shop's active discount with `code`, if any.
    async fn find_active_by_code(&self, shop_id: &ShopId, code: &str) -> Result<Option<Discount>>;

    /// The shop's active discounts, newest first, paged.
    async fn list_active(&self, shop_id: &ShopId, page: Page) -> Result<Vec<Discount>>;

    /// Deletes the shop's active discount with `code`; false if there was none.
    async fn delete(&self, shop_id: &ShopId, code: &str) -> Result<bool>;

    /// Atomically records `redemption` if the discount is active, has fewer than `max_uses`
    /// uses and the customer fewer than `max_uses_per_user`; otherwise
    /// [`Error::DiscountNotApplicable`](crate::Error::DiscountNotApplicable) and nothing changes.
    /// Idempotent by `redemption.id`. [`Error::NotFound`](crate::Error::NotFound) if missing.
    async fn redeem(&self, id: &DiscountId, redemption: &Redemption) -> Result<Discount>;

    /// Atomically removes the redemption `redemption_id`; false if there was none (idempotent).
    async fn unredeem(&self, id: &DiscountId, redemption_id: &str) -> Result<bool>;
}
