//! Orders, their status rules, and the repository port.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{CheckoutId, CustomerId, DiscountId, OrderId, ProductId, ShopId};
use crate::money::Money;
use crate::page::Page;
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

/// The totals of a checkout (the seed's `checkout_order`).
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
}

/// A placed order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Order {
    /// The id.
    pub id: OrderId,
    /// The buyer.
    pub customer_id: CustomerId,
    /// The checkout that created it (reservation and redemption id).
    pub checkout_id: CheckoutId,
    /// Totals.
    pub totals: CheckoutTotals,
    /// Shipping address as the client sent it.
    pub shipping: Value,
    /// Payment details as the client sent them.
    pub payment: Value,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Discounts applied.
    pub discounts: Vec<AppliedDiscount>,
    /// Carrier tracking number.
    pub tracking_number: Option<String>,
    /// Latest note from a shop.
    pub note: Option<String>,
    /// Rolled-up status.
    pub status: OrderStatus,
    /// Incremented by every update; replaces are conditional on it.
    pub version: u64,
    /// When it was placed.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Storage of orders.
#[async_trait]
pub trait OrderRepo: Send + Sync + Debug + 'static {
    /// Inserts an order; [`Error::Conflict`](crate::Error::Conflict) if the id exists, which makes
    /// inserting a checkout's order twice impossible.
    async fn insert(&self, order: &Order) -> Result<()>;

    /// The order with `id`, if any.
    async fn get(&self, id: &OrderId) -> Result<Option<Order>>;

    /// The customer's orders, newest first, paged.
    async fn list_by_customer(&self, customer_id: &CustomerId, page: Page) -> Result<Vec<Order>>;

    /// Replaces the stored order with `order` only if the stored `version` is `expected_version`.
    /// [`Error::NotFound`](crate::Error::NotFound) if missing,
    /// [`Error::Conflict`](crate::Error::Conflict) if the version moved.
    async fn replace(&self, order: &Order, expected_version: u64) -> Result<()>;
}
