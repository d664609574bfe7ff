//! Discount codes and the repository port.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::{CustomerId, DiscountId, OrderId, ProductId, ShopId};
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

/// An open use of a discount: held by a checkout in flight, or by a return in flight.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Redemption {
    /// Unique among the code's open uses: the order's id for a checkout's use, the return
    /// claim's token for a return's.
    pub id: String,
    /// The order the use belongs to (the per-customer count is kept by order).
    pub order_id: OrderId,
    /// The customer.
    pub customer_id: CustomerId,
    /// When it was opened; open past the checkout lease, it is recovery's to settle or release.
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
    pub max_uses_per_customer: u32,
    /// Minimum value of the applicable lines for the code to apply.
    pub min_order_value: Money,
    /// Inactive codes never apply.
    pub is_active: bool,
    /// Which products count.
    pub applies_to: AppliesTo,
    /// Uses taken: by placed orders and by the open uses below; never more than `max_uses`.
    pub uses: u32,
    /// Open uses only (checkouts and returns in flight), so the record stays small whatever
    /// the number of uses.
    pub open: Vec<Redemption>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Discount {
    /// Uses so far (placed orders and checkouts in flight).
    pub fn uses_count(&self) -> u32 {
        self.uses
    }
}

/// The value of one order line (`quantity * unit price`), as a discount sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineValue {
    /// The product.
    pub product_id: ProductId,
    /// Its shop.
    pub shop_id: ShopId,
    /// `quantity * unit price`.
    pub value: Money,
}

impl Discount {
    /// Whether a customer who has used the code `used_by_customer` times may use it at `now`:
    /// active, inside `[starts_at, ends_at)`, uses left in total and for the customer.
    /// [`Error::DiscountNotApplicable`] says why not.
    pub fn check_usable(&self, used_by_customer: u32, now: Timestamp) -> Result<()> {
        let refuse = |why: &str| {
            Err(Error::DiscountNotApplicable(format!(
                "{}: {why}",
                self.code
            )))
        };
        if !self.is_active {
            return refuse("the code is not active");
        }
        if now < self.starts_at {
            return refuse("the code is not valid yet");
        }
        if now >= self.ends_at {
            return refuse("the code has expired");
        }
        if self.uses_count() >= self.max_uses {
            return refuse("the code is used up");
        }
        if used_by_customer >= self.max_uses_per_customer {
            return refuse("you have used this code the maximum number of times");
        }
        Ok(())
    }

    /// The subtotal of the lines this code counts: lines of its shop, and for
    /// `SpecificProducts` only the listed products.
    pub fn applicable_subtotal(&self, lines: &[LineValue]) -> Result<Money> {
        lines
            .iter()
            .filter(|l| self.counts(l))
            .try_fold(Money::zero(self.min_order_value.currency), |sum, l| {
                sum.checked_add(l.value)
            })
    }

    /// `amount` (what this code took off `lines`) shared over `lines`, in their order: the lines
    /// it counts in proportion to their value by the largest-remainder method
    /// ([`Money::split`]), the others nothing. The shares add up to `amount` exactly, so
    /// refunding every line by its value less its share gives back exactly what was paid.
    /// [`Error::Validation`] of `discount` if `amount` is more than the lines it counts.
    pub fn shares(&self, lines: &[LineValue], amount: Money) -> Result<Vec<Money>> {
        let weights: Vec<i64> = lines
            .iter()
            .map(|l| if self.counts(l) { l.value.minor } else { 0 })
            .collect();
        match amount.split(&weights) {
            Some(shares)
                if weights.iter().map(|w| i128::from(*w)).sum::<i128>()
                    >= i128::from(amount.minor) =>
            {
                Ok(shares)
            }
            _ => Err(Error::validation(
                "discount",
                "the amount is more than the lines it applies to",
            )),
        }
    }

    /// Whether this code counts `line`: a line of its shop, and for `SpecificProducts` only
    /// the listed products.
    fn counts(&self, line: &LineValue) -> bool {
        line.shop_id == self.shop_id
            && match &self.applies_to {
                AppliesTo::All => true,
                AppliesTo::SpecificProducts(ids) => ids.contains(&line.product_id),
            }
    }

    /// The amount this code takes off `lines` at `now` for a customer who has used it
    /// `used_by_customer` times. It is never negative and never more than the applicable
    /// subtotal: a fixed amount is capped at the subtotal; a percentage rounds half-up to the
    /// minor unit (see [`Money::percent`]). [`Error::DiscountNotApplicable`] when unusable, when
    /// no line counts, or when the applicable subtotal is below `min_order_value`.
    pub fn amount(
        &self,
        lines: &[LineValue],
        used_by_customer: u32,
        now: Timestamp,
    ) -> Result<Money> {
        self.check_usable(used_by_customer, now)?;
        let subtotal = self.applicable_subtotal(lines)?;
        if subtotal.minor <= 0 {
            return Err(Error::DiscountNotApplicable(format!(
                "{}: no product in the order is eligible",
                self.code
            )));
        }
        if subtotal.minor < self.min_order_value.minor {
            return Err(Error::DiscountNotApplicable(format!(
                "{}: requires a minimum order value of {}",
                self.code, self.min_order_value
            )));
        }
        let amount = match self.value {
            DiscountValue::Percentage(bp) => subtotal.percent(bp.min(10_000)),
            DiscountValue::Fixed(off) => off,
        };
        Ok(Money::new(
            amount.minor.clamp(0, subtotal.minor),
            subtotal.currency,
        ))
    }
}

/// Storage of discounts. Uses move like stock (see [`crate::inventory`]): a checkout opens a
/// use (`redeem`), which is then settled (its order was placed) or released (it was not); a
/// return reopens a settled use and releases it. Every method taking a use is idempotent per
/// use id; the limits hold under any concurrency.
#[async_trait]
pub trait DiscountRepo: Send + Sync + Debug + 'static {
    /// Inserts a discount; [`Error::AlreadyExists`] if the shop already has an
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

    /// Uses of the code held by `customer` (by placed orders and checkouts in flight).
    async fn uses_by(&self, id: &DiscountId, customer: &CustomerId) -> Result<u32>;

    /// The ids of the orders whose uses `customer` holds (placed or in flight).
    async fn orders_using(&self, id: &DiscountId, customer: &CustomerId) -> Result<Vec<OrderId>>;

    /// Atomically opens `use_` if the discount is active, has fewer than `max_uses` uses and
    /// the customer fewer than `max_uses_per_customer` (counting by `use_.order_id`), and `use_.at`
    /// within the code's window (`starts_at <= at < ends_at`); otherwise
    /// [`Error::DiscountNotApplicable`] and nothing changes. Idempotent: if `use_.id` is
    /// already open, `Ok` and nothing changes. [`Error::NotFound`] if missing.
    async fn redeem(&self, id: &DiscountId, use_: &Redemption) -> Result<()>;

    /// Closes the open use `use_` and gives it back (to the total and to the customer's
    /// count). Returns false if it was not open (idempotent).
    async fn release(&self, id: &DiscountId, use_: &Redemption) -> Result<bool>;

    /// Closes the open use `use_`, keeping it taken (its order was placed). Returns false if
    /// it was not open (idempotent).
    async fn settle(&self, id: &DiscountId, use_: &Redemption) -> Result<bool>;

    /// [`Self::settle`] for several uses of the code at once (group commit); returns how many
    /// were open. The default settles them one by one.
    async fn settle_many(&self, id: &DiscountId, uses: &[Redemption]) -> Result<u32> {
        let mut settled = 0;
        for use_ in uses {
            settled += u32::from(self.settle(id, use_).await?);
        }
        Ok(settled)
    }

    /// Reopens a taken use as `use_` (a return in flight): the total does not change until it
    /// is released. Idempotent: if `use_.id` is already open, nothing changes.
    /// [`Error::NotFound`] if missing.
    async fn unsettle(&self, id: &DiscountId, use_: &Redemption) -> Result<()>;

    /// Up to `limit` open uses (with their discount) opened before `before`, oldest first.
    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(DiscountId, Redemption)>>;

    /// If every use of the code is taken (`uses >= max_uses`) and it was not marked exhausted
    /// before, marks it and appends `event` to its outbox, in one atomic write; whether this
    /// call did (of concurrent calls, one does).
    async fn mark_exhausted(&self, id: &DiscountId, event: &Event) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::{Duration, Utc};
    use proptest::prelude::*;

    fn discount(value: DiscountValue, min: i64, applies_to: AppliesTo, shop: &ShopId) -> Discount {
        let now = Utc::now();
        Discount {
            id: DiscountId::generate(),
            shop_id: shop.clone(),
            code: "CODE".into(),
            name: "n".into(),
            description: "d".into(),
            value,
            starts_at: now - Duration::days(1),
            ends_at: now + Duration::days(1),
            max_uses: 10,
            max_uses_per_customer: 1,
            min_order_value: Money::new(min, Currency::USD),
            is_active: true,
            applies_to,
            uses: 0,
            open: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    fn value() -> impl Strategy<Value = DiscountValue> {
        prop_oneof![
            (1_u32..=10_000).prop_map(DiscountValue::Percentage),
            (1_i64..1_000_000).prop_map(|m| DiscountValue::Fixed(Money::new(m, Currency::USD))),
        ]
    }

    proptest! {
        #[test]
        fn amount_is_bounded_by_the_applicable_subtotal(
            value in value(),
            own in proptest::collection::vec(1_i64..100_000, 0..6),
            foreign in proptest::collection::vec(1_i64..100_000, 0..3),
            min in 0_i64..200_000,
            specific in any::<bool>(),
        ) {
            let shop = ShopId::generate();
            let other = ShopId::generate();
            let mut lines: Vec<LineValue> = own.iter().map(|v| LineValue {
                product_id: ProductId::generate(), shop_id: shop.clone(), value: Money::new(*v, Currency::USD),
            }).collect();
            let counted: Vec<ProductId> = lines.iter().step_by(2).map(|l| l.product_id.clone()).collect();
            lines.extend(foreign.iter().map(|v| LineValue {
                product_id: ProductId::generate(), shop_id: other.clone(), value: Money::new(*v, Currency::USD),
            }));
            let applies_to = if specific { AppliesTo::SpecificProducts(counted.clone()) } else { AppliesTo::All };
            let d = discount(value, min, applies_to, &shop);
            let subtotal: i64 = lines.iter()
                .filter(|l| l.shop_id == shop && (!specific || counted.contains(&l.product_id)))
                .map(|l| l.value.minor).sum();
            match d.amount(&lines, 0, Utc::now()) {
                Ok(amount) => {
                    // Shared over the lines it counts, to the minor unit.
                    let shares = d.shares(&lines, amount).unwrap();
                    prop_assert_eq!(shares.iter().map(|s| s.minor).sum::<i64>(), amount.minor);
                    for (line, share) in lines.iter().zip(&shares) {
                        let counts = line.shop_id == shop && (!specific || counted.contains(&line.product_id));
                        prop_assert!(share.minor >= 0 && share.minor <= line.value.minor);
                        prop_assert!(counts || share.minor == 0);
                    }
                    prop_assert!(amount.minor >= 0);
                    prop_assert!(amount.minor <= subtotal);
                    prop_assert!(subtotal >= min && subtotal > 0);
                    if let DiscountValue::Percentage(bp) = value {
                        // Half-up rounding: within half a minor unit of the exact value.
                        let exact = subtotal as i128 * bp as i128;
                        let diff = (amount.minor as i128 * 10_000 - exact).abs();
                        prop_assert!(diff <= 5_000);
                    }
                }
                Err(Error::DiscountNotApplicable(_)) => prop_assert!(subtotal < min || subtotal == 0),
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    #[test]
    fn limits_and_windows_refuse() {
        let shop = ShopId::generate();
        let lines = [LineValue {
            product_id: ProductId::generate(),
            shop_id: shop.clone(),
            value: Money::new(1000, Currency::USD),
        }];
        let mut d = discount(DiscountValue::Percentage(1000), 0, AppliesTo::All, &shop);
        assert_eq!(
            d.amount(&lines, 0, Utc::now()).map(|m| m.minor).ok(),
            Some(100)
        );
        assert!(d.amount(&lines, 1, Utc::now()).is_err(), "per-user limit");
        d.uses = d.max_uses;
        assert!(d.amount(&lines, 0, Utc::now()).is_err(), "used up");
        d.uses = 0;
        assert!(d.amount(&lines, 0, d.ends_at).is_err(), "expired");
        assert!(
            d.amount(&lines, 0, d.starts_at - Duration::seconds(1))
                .is_err(),
            "not yet"
        );
        d.is_active = false;
        assert!(d.amount(&lines, 0, Utc::now()).is_err());
    }
}
