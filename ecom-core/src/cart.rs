//! Carts: one active cart per customer, and the repository port.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{CartId, CustomerId, ProductId, ShopId};
use crate::money::Money;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Life cycle of a cart.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CartState {
    /// The customer's current cart.
    Active,
    /// Checked out.
    Completed,
    /// Abandoned by a failure.
    Failed,
    /// Waiting on something.
    Pending,
}

/// One product in a cart. `name` and `price` are a snapshot for display; checkout always
/// re-reads the product.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct CartLine {
    /// The product.
    pub product_id: ProductId,
    /// Its shop.
    pub shop_id: ShopId,
    /// Units wanted, at least 1.
    pub quantity: u32,
    /// Product name when added.
    pub name: String,
    /// Unit price when added.
    pub price: Money,
    /// The model (variant) bought, for a product with models.
    #[serde(default)]
    pub model_id: Option<ProductId>,
    /// The model's name when added (`Red / M`).
    #[serde(default)]
    pub model_name: Option<String>,
}

impl CartLine {
    /// What identifies the line in its cart: the stock record its units come from (the
    /// model's id, or the product's).
    pub fn stock_id(&self) -> &ProductId {
        crate::variant::stock_id(&self.product_id, self.model_id.as_ref())
    }
}

/// A customer's cart.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Cart {
    /// The id.
    pub id: CartId,
    /// Whose cart.
    pub customer_id: CustomerId,
    /// State.
    pub state: CartState,
    /// Lines, one per product and model.
    pub lines: Vec<CartLine>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Cart {
    /// How many distinct products the cart holds.
    pub fn count_product(&self) -> usize {
        self.lines.len()
    }
}

/// Storage of carts. Every method acts on the customer's one active cart atomically.
#[async_trait]
pub trait CartRepo: Send + Sync + Debug + 'static {
    /// The customer's active cart, if any.
    async fn get_active(&self, customer_id: &CustomerId) -> Result<Option<Cart>>;

    /// Adds `line` to the active cart (creating the cart if there is none): if a line of the
    /// same [`CartLine::stock_id`] is already there its quantity grows by `line.quantity`, else the line is appended.
    /// [`Error::Validation`](crate::Error::Validation) on `quantity` if the result would exceed
    /// `max_quantity` (nothing changes).
    async fn add_line(
        &self,
        customer_id: &CustomerId,
        line: &CartLine,
        max_quantity: u32,
        now: Timestamp,
    ) -> Result<Cart>;

    /// Changes the quantity of the line whose [`CartLine::stock_id`] is `product_id` by
    /// `delta`. The result must be in `1..=max_quantity`, else
    /// [`Error::Validation`](crate::Error::Validation) on `quantity` and nothing changes.
    /// [`Error::NotFound`](crate::Error::NotFound) if there is no active cart or no such line.
    async fn adjust_line(
        &self,
        customer_id: &CustomerId,
        product_id: &ProductId,
        delta: i64,
        max_quantity: u32,
        now: Timestamp,
    ) -> Result<Cart>;

    /// Removes the lines whose [`CartLine::stock_id`] is one of `product_ids` (missing ones
    /// are ignored); returns the cart after,
    /// or `None` if the customer has no active cart.
    async fn remove_lines(
        &self,
        customer_id: &CustomerId,
        product_ids: &[ProductId],
        now: Timestamp,
    ) -> Result<Option<Cart>>;

    /// Removes, for each `(customer, stock ids)`, those lines from the customer's active cart
    /// (the bought lines of several orders at once). The default does it cart by cart.
    async fn remove_lines_many(
        &self,
        removals: &[(CustomerId, Vec<ProductId>)],
        now: Timestamp,
    ) -> Result<()> {
        for (customer, product_ids) in removals {
            self.remove_lines(customer, product_ids, now).await?;
        }
        Ok(())
    }
}
