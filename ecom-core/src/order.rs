//! Orders, their status rules, and the repository port.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::{CustomerId, DiscountId, OrderId, ProductId, ShopId};
use crate::money::Money;
use crate::page::Page;
use crate::payment::state::{Payment, PaymentStatus};
use crate::returns::OrderReturn;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Debug;

/// Status of an order line, and (rolled up) of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Placed, not yet confirmed by the shop.
    Pending,
    /// Confirmed by the shop.
    Confirmed,
    /// Handed to the carrier.
    Shipped,
    /// Received by the customer.
    Delivered,
    /// Cancelled; its stock and discount uses were returned.
    Cancelled,
}

impl OrderStatus {
    /// Whether a line may move from `self` to `next`: pending -> confirmed -> shipped ->
    /// delivered, and pending or confirmed -> cancelled. Staying put is allowed (no change).
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        self == next
            || matches!(
                (self, next),
                (Pending, Confirmed)
                    | (Confirmed, Shipped)
                    | (Shipped, Delivered)
                    | (Pending, Cancelled)
                    | (Confirmed, Cancelled)
            )
    }

    /// The order's status from its lines' statuses. Cancelled lines are set aside unless every
    /// line is cancelled; among the others: all delivered -> delivered, any pending -> pending,
    /// any confirmed -> confirmed, else shipped. No lines at all counts as cancelled.
    pub fn roll_up(lines: impl IntoIterator<Item = OrderStatus>) -> OrderStatus {
        let (mut any, mut pending, mut confirmed, mut all_delivered) = (false, false, false, true);
        for status in lines {
            match status {
                OrderStatus::Cancelled => continue,
                OrderStatus::Pending => pending = true,
                OrderStatus::Confirmed => confirmed = true,
                _ => {}
            }
            any = true;
            all_delivered &= status == OrderStatus::Delivered;
        }
        match () {
            _ if !any => OrderStatus::Cancelled,
            _ if all_delivered => OrderStatus::Delivered,
            _ if pending => OrderStatus::Pending,
            _ if confirmed => OrderStatus::Confirmed,
            _ => OrderStatus::Shipped,
        }
    }

    /// Parses `pending|confirmed|shipped|delivered|cancelled`.
    pub fn parse(text: &str, field: &str) -> Result<Self> {
        serde_json::from_value(Value::String(text.to_owned())).map_err(|_| {
            Error::validation(
                field,
                "must be one of pending, confirmed, shipped, delivered, cancelled",
            )
        })
    }
}

/// The totals of a checkout.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CheckoutTotals {
    /// Sum of line prices.
    pub total_price: Money,
    /// Shipping fee.
    pub fee_ship: Money,
    /// Sum of discounts.
    pub total_discount: Money,
    /// What the customer pays: `total_price + fee_ship - total_discount`, never negative.
    pub total_checkout: Money,
}

/// One product line of an order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct OrderLine {
    /// The shop that sells it.
    pub shop_id: ShopId,
    /// The product.
    pub product_id: ProductId,
    /// Product name at checkout.
    pub name: String,
    /// Units bought.
    pub quantity: u32,
    /// Unit price at checkout (from the store, never from the client).
    pub unit_price: Money,
    /// The line's own status; the order's status rolls up from these.
    pub status: OrderStatus,
    /// For a cancelled line whose units went back to stock: the token of the return claim
    /// that did it.
    pub returned: Option<String>,
    /// The model (variant) bought, for a product with models.
    #[serde(default)]
    pub model_id: Option<ProductId>,
    /// The model's name at checkout (`Red / M`).
    #[serde(default)]
    pub model_name: Option<String>,
    /// The line's share of its shop's discount, fixed at checkout by the largest-remainder
    /// method ([`crate::discount::Discount::shares`]): the shares of a shop's lines add up to
    /// its discount exactly, so the line's value less its share is what it cost. `None` when
    /// no code took anything off the line (nothing is stored then, so an order without codes
    /// is stored as before), and on orders placed before shares were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_share: Option<Money>,
    /// When the line was delivered: its return window starts then. `None` before delivery,
    /// and on lines delivered before this was kept (their window starts at the order's last
    /// change before the first return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
}

impl OrderLine {
    /// The stock record the line's units come from: its model's, or its product's.
    pub fn stock_id(&self) -> &ProductId {
        crate::variant::stock_id(&self.product_id, self.model_id.as_ref())
    }
}

/// A discount applied to an order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct AppliedDiscount {
    /// The shop whose code it is.
    pub shop_id: ShopId,
    /// The discount.
    pub discount_id: DiscountId,
    /// The code.
    pub code: String,
    /// Amount taken off.
    pub amount: Money,
    /// Once every line of its shop is cancelled and the use went back to the code: the token
    /// of the return claim that did it.
    pub returned: Option<String>,
}

/// A claim on an order's returns in flight: whoever holds the current token gives cancelled
/// lines' stock and codes' uses back. A newer claim (a later cancel, or recovery taking over a
/// claim past its deadline) supersedes it; the older claimant then undoes what it opened.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReturnClaim {
    /// Unique per claim; the id of the holds it opens.
    pub token: String,
    /// Past this instant recovery may take the claim over.
    pub deadline: Timestamp,
}

/// What one shop keeps about its part of an order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ShopFulfilment {
    /// The shop.
    pub shop_id: ShopId,
    /// Its carrier's tracking number.
    pub tracking_number: Option<String>,
    /// Its latest note.
    pub note: Option<String>,
}

/// A placed order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Order {
    /// The id.
    pub id: OrderId,
    /// The buyer.
    pub customer_id: CustomerId,
    /// The checkout's `Idempotency-Key` (or a generated one); unique per customer.
    pub idempotency_key: String,
    /// Totals.
    pub totals: CheckoutTotals,
    /// Shipping address as the client sent it.
    pub shipping: Value,
    /// The payment: method, status, amount (never card or account details).
    pub payment: Payment,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Discounts applied.
    pub discounts: Vec<AppliedDiscount>,
    /// Per shop that set one: its tracking number and note (a shop sees and writes only its
    /// own).
    pub fulfilment: Vec<ShopFulfilment>,
    /// Rolled-up status.
    pub status: OrderStatus,
    /// Set while cancelled lines owe stock or discount uses back; recovery finishes a claim
    /// past its deadline.
    pub returning: Option<ReturnClaim>,
    /// The returns asked of delivered lines, oldest first (at most
    /// [`MAX_RETURNS_PER_ORDER`](crate::returns::MAX_RETURNS_PER_ORDER)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<OrderReturn>,
    /// Incremented by every update; replaces are conditional on it.
    pub version: u64,
    /// When it was placed.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Order {
    /// What `shop` keeps about its part of this order, if it set anything.
    pub fn fulfilment_of(&self, shop: &ShopId) -> Option<&ShopFulfilment> {
        self.fulfilment.iter().find(|f| &f.shop_id == shop)
    }

    /// The lines of `shop`.
    pub fn lines_of<'a>(&'a self, shop: &'a ShopId) -> impl Iterator<Item = &'a OrderLine> + 'a {
        self.lines.iter().filter(move |l| &l.shop_id == shop)
    }

    /// The part of `shop`: its lines' prices, its discount, no shipping fee (the fee is the
    /// order's), and what that leaves (never negative).
    pub fn subtotal_of(&self, shop: &ShopId) -> Result<CheckoutTotals> {
        let zero = Money::zero(self.totals.total_price.currency);
        let mut total_price = zero;
        for line in self.lines_of(shop) {
            total_price =
                total_price.checked_add(line.unit_price.checked_mul(u64::from(line.quantity))?)?;
        }
        let mut total_discount = zero;
        for discount in self.discounts_of(shop) {
            total_discount = total_discount.checked_add(discount.amount)?;
        }
        Ok(CheckoutTotals {
            total_price,
            fee_ship: zero,
            total_discount,
            total_checkout: total_price.checked_sub(total_discount.min(total_price))?,
        })
    }

    /// The return with `id`, if this order has it.
    pub fn return_of(&self, id: &crate::id::ReturnId) -> Option<&OrderReturn> {
        self.returns.iter().find(|r| &r.id == id)
    }

    /// When the sweep acts on one of this order's returns by itself, the soonest: see
    /// [`OrderReturn::due_at`].
    pub fn returns_due(&self) -> Option<Timestamp> {
        self.returns.iter().filter_map(|r| r.due_at).min()
    }

    /// The discounts of `shop`.
    pub fn discounts_of<'a>(
        &'a self,
        shop: &'a ShopId,
    ) -> impl Iterator<Item = &'a AppliedDiscount> + 'a {
        self.discounts.iter().filter(move |d| &d.shop_id == shop)
    }
}

/// Which of a shop's orders to list ([`OrderRepo::list_by_shop`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ShopOrderFilter {
    /// Only orders with at least one of the shop's lines in this status.
    pub line_status: Option<OrderStatus>,
    /// Only orders whose payment is in this status.
    pub payment_status: Option<PaymentStatus>,
}

impl ShopOrderFilter {
    /// Whether `order` is one of `shop`'s and passes the filter.
    pub fn matches(&self, shop: &ShopId, order: &Order) -> bool {
        order.lines_of(shop).next().is_some()
            && self
                .line_status
                .is_none_or(|status| order.lines_of(shop).any(|l| l.status == status))
            && self
                .payment_status
                .is_none_or(|status| order.payment.status == status)
    }
}

/// Storage of orders.
///
/// Inserting an order is a checkout's commit point, so the id and the customer's key are
/// unique, and an id can be *voided* first: recovery voids the order id of a checkout it
/// gave up on, after which that order can never be inserted (a slow process still running
/// the checkout finds out at its insert, and gives its holds back).
#[async_trait]
pub trait OrderRepo: Send + Sync + Debug + 'static {
    /// Inserts an order with `events` in its outbox (one atomic write: the events exist if
    /// and only if the order does); [`Error::AlreadyExists`] if its id exists or was voided, or
    /// the customer already has an order with its idempotency key (atomically: of concurrent
    /// inserts, one wins).
    async fn insert(&self, order: &Order, events: &[Event]) -> Result<()>;

    /// Inserts several orders at once (group commit), each with its events and the rules of
    /// [`Self::insert`]: one result per order, in order. `Err` when the outcome of the whole
    /// call is unknown (any of them may or may not be in). The default inserts them one by one.
    async fn insert_many(&self, orders: &[(&Order, &[Event])]) -> Result<Vec<Result<()>>> {
        let mut results = Vec::with_capacity(orders.len());
        for (order, events) in orders {
            results.push(self.insert(order, events).await);
        }
        Ok(results)
    }

    /// The order with `id`, if any.
    async fn get(&self, id: &OrderId) -> Result<Option<Order>>;

    /// The customer's order with `idempotency_key`, if any.
    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        idempotency_key: &str,
    ) -> Result<Option<Order>>;

    /// Atomically: if no order with `id` exists, makes sure none ever will and returns
    /// `None`; otherwise returns the order. Idempotent.
    async fn void(&self, id: &OrderId) -> Result<Option<Order>>;

    /// The customer's orders, newest first, paged.
    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>>;

    /// Replaces the stored order with `order` only if the stored `version` is `expected_version`,
    /// and in the same atomic write appends `events` to its outbox (the events still waiting
    /// there stay). [`Error::NotFound`] if missing, [`Error::Conflict`] if the version moved
    /// (and then no event is added).
    async fn replace(&self, order: &Order, expected_version: u64, events: &[Event]) -> Result<()>;

    /// Up to `limit` orders with a return claim whose deadline is before `now`, oldest first.
    async fn list_returning(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>>;

    /// The order holding the return `id`, if any.
    async fn find_by_return(&self, id: &crate::id::ReturnId) -> Result<Option<Order>>;

    /// The orders with at least one return that passes `filter`
    /// ([`ReturnFilter::matches`](crate::returns::ReturnFilter::matches)), newest first (ties by
    /// id, descending), paged.
    async fn list_with_returns(
        &self,
        filter: &crate::returns::ReturnFilter,
        page: Page,
    ) -> Result<Vec<Order>>;

    /// Up to `limit` orders with a return the sweep must act on ([`Order::returns_due`]) at or
    /// before `now`, soonest first.
    async fn list_returns_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>>;

    /// Up to `limit` orders whose payment is due ([`Payment::due_at`]) at or before `now`,
    /// soonest due first: unpaid online orders past their expiry, refunds not yet requested.
    async fn list_payments_due(&self, now: Timestamp, limit: u32) -> Result<Vec<Order>>;

    /// The orders with at least one line of `shop` that pass `filter`
    /// ([`ShopOrderFilter::matches`]), newest first (ties by id, descending), paged.
    async fn list_by_shop(
        &self,
        shop: &ShopId,
        filter: ShopOrderFilter,
        page: Page,
    ) -> Result<Vec<Order>>;
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = OrderStatus> {
        prop_oneof![
            Just(Pending),
            Just(Confirmed),
            Just(Shipped),
            Just(Delivered),
            Just(Cancelled)
        ]
    }

    proptest! {
        #[test]
        fn roll_up_follows_the_rules(lines in proptest::collection::vec(status(), 0..8)) {
            let rolled = OrderStatus::roll_up(lines.iter().copied());
            let active: Vec<_> = lines.iter().copied().filter(|s| *s != Cancelled).collect();
            if active.is_empty() {
                prop_assert_eq!(rolled, Cancelled);
            } else if active.iter().all(|s| *s == Delivered) {
                prop_assert_eq!(rolled, Delivered);
            } else if active.contains(&Pending) {
                prop_assert_eq!(rolled, Pending);
            } else if active.contains(&Confirmed) {
                prop_assert_eq!(rolled, Confirmed);
            } else {
                prop_assert_eq!(rolled, Shipped);
            }
            // The order is never further along than its least advanced active line.
            prop_assert!(rolled != Cancelled || lines.iter().all(|s| *s == Cancelled));
        }

        #[test]
        fn roll_up_ignores_line_order(mut lines in proptest::collection::vec(status(), 1..8)) {
            let before = OrderStatus::roll_up(lines.iter().copied());
            lines.reverse();
            prop_assert_eq!(before, OrderStatus::roll_up(lines.iter().copied()));
        }

        #[test]
        fn terminal_statuses_never_move(next in status()) {
            for terminal in [Delivered, Cancelled] {
                prop_assert_eq!(terminal.can_become(next), terminal == next);
            }
        }
    }

    #[test]
    fn single_status_rolls_up_to_itself() {
        for s in [Pending, Confirmed, Shipped, Delivered, Cancelled] {
            assert_eq!(OrderStatus::roll_up([s]), s);
        }
        assert!(Pending.can_become(Confirmed) && !Pending.can_become(Shipped));
        assert!(Confirmed.can_become(Cancelled) && !Shipped.can_become(Cancelled));
    }
}
