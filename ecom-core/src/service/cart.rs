//! Carts: one active cart per customer.

use crate::backend::Backend;
use crate::cart::{Cart, CartLine};
use crate::error::{Error, Result};
use crate::id::{CustomerId, ProductId, ShopId};
use crate::product::Product;
use crate::validate::{self, MAX_QUANTITY};

/// A product to put in the cart.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CartItem {
    /// The product; must exist and be published.
    pub product_id: ProductId,
    /// The shop that sells it.
    pub shop_id: ShopId,
    /// Units to add, 1..=[`MAX_QUANTITY`].
    pub quantity: u32,
}

/// One change of [`CartService::update`]: `quantity` 0 removes the
/// line; otherwise the line grows by `quantity - old_quantity` (which may be negative).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CartUpdate {
    /// The shop that sells the product.
    pub shop_id: ShopId,
    /// The product.
    pub product_id: ProductId,
    /// The wanted quantity (0 removes).
    pub quantity: u32,
    /// The quantity the client last saw.
    pub old_quantity: u32,
}

/// The cart use cases.
#[derive(Clone, Debug)]
pub struct CartService {
    backend: Backend,
}

impl CartService {
    pub(crate) fn new(backend: Backend) -> Self {
        CartService { backend }
    }

    /// Adds units of a published product (merging with a line already there).
    pub async fn add(&self, customer: &CustomerId, item: CartItem) -> Result<Cart> {
        let quantity = validate::quantity("quantity", item.quantity)?;
        let product = self.sellable(&item.product_id, &item.shop_id).await?;
        let line = CartLine {
            product_id: product.id,
            shop_id: product.shop_id,
            quantity,
            name: product.name,
            price: product.price,
        };
        self.backend
            .carts
            .add_line(customer, &line, MAX_QUANTITY, self.backend.clock.now())
            .await
    }

    /// Applies changes in order; stops at the first that fails (earlier ones stay applied).
    /// Returns the cart after, or `None` if the customer has no cart.
    pub async fn update(
        &self,
        customer: &CustomerId,
        changes: Vec<CartUpdate>,
    ) -> Result<Option<Cart>> {
        if changes.is_empty() || changes.len() > 100 {
            return Err(Error::validation(
                "item_products",
                "must hold 1 to 100 changes",
            ));
        }
        for change in &changes {
            if change.quantity > MAX_QUANTITY || change.old_quantity > MAX_QUANTITY {
                return Err(Error::validation(
                    "quantity",
                    format!("must be between 0 and {MAX_QUANTITY}"),
                ));
            }
        }
        let mut cart = self.backend.carts.get_active(customer).await?;
        for change in changes {
            let now = self.backend.clock.now();
            if change.quantity == 0 {
                cart = self
                    .backend
                    .carts
                    .remove_lines(customer, std::slice::from_ref(&change.product_id), now)
                    .await?;
                continue;
            }
            self.sellable(&change.product_id, &change.shop_id).await?;
            let delta = i64::from(change.quantity) - i64::from(change.old_quantity);
            cart = Some(
                self.backend
                    .carts
                    .adjust_line(customer, &change.product_id, delta, MAX_QUANTITY, now)
                    .await?,
            );
        }
        Ok(cart)
    }

    /// Removes a product from the cart; returns the cart after (`None` if there is no cart).
    pub async fn remove(
        &self,
        customer: &CustomerId,
        product_id: &ProductId,
    ) -> Result<Option<Cart>> {
        self.backend
            .carts
            .remove_lines(
                customer,
                std::slice::from_ref(product_id),
                self.backend.clock.now(),
            )
            .await
    }

    /// The customer's active cart, if any.
    pub async fn get(&self, customer: &CustomerId) -> Result<Option<Cart>> {
        self.backend.carts.get_active(customer).await
    }

    async fn sellable(&self, product_id: &ProductId, shop_id: &ShopId) -> Result<Product> {
        let product = self
            .backend
            .products
            .get(product_id)
            .await?
            .filter(|p| p.is_published)
            .ok_or_else(|| Error::not_found("product"))?;
        if &product.shop_id != shop_id {
            return Err(Error::validation(
                "shopId",
                "the shop does not sell this product",
            ));
        }
        Ok(product)
    }
}
