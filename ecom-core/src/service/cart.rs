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
    /// Its model: required for a product with models, refused for one without.
    pub model_id: Option<ProductId>,
}

impl CartItem {
    /// `quantity` units of `product_id`, sold by `shop_id` (a product without models).
    pub fn new(product_id: ProductId, shop_id: ShopId, quantity: u32) -> Self {
        CartItem {
            product_id,
            shop_id,
            quantity,
            model_id: None,
        }
    }

    /// Of the product's model `model`.
    pub fn of_model(mut self, model: ProductId) -> Self {
        self.model_id = Some(model);
        self
    }
}

/// One change of [`CartService::update`]: `quantity` 0 removes the
/// line; otherwise the line grows by `quantity - old_quantity` (which may be negative).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CartUpdate {
    /// The shop that sells the product.
    pub shop_id: ShopId,
    /// The product.
    pub product_id: ProductId,
    /// Its model, for a product with models (the line is the product and the model).
    pub model_id: Option<ProductId>,
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
        let model = product.model_of_line(item.model_id.as_ref())?.cloned();
        let line = CartLine {
            product_id: product.id,
            shop_id: product.shop_id,
            quantity,
            name: product.name,
            price: model.as_ref().map_or(product.price, |m| m.price),
            model_id: model.as_ref().map(|m| m.id.clone()),
            model_name: model.map(|m| m.name),
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
            let line = crate::variant::stock_id(&change.product_id, change.model_id.as_ref());
            if change.quantity == 0 {
                cart = self
                    .backend
                    .carts
                    .remove_lines(customer, std::slice::from_ref(line), now)
                    .await?;
                continue;
            }
            let product = self.sellable(&change.product_id, &change.shop_id).await?;
            product.model_of_line(change.model_id.as_ref())?;
            let delta = i64::from(change.quantity) - i64::from(change.old_quantity);
            cart = Some(
                self.backend
                    .carts
                    .adjust_line(customer, line, delta, MAX_QUANTITY, now)
                    .await?,
            );
        }
        Ok(cart)
    }

    /// Removes a product (its model `model`, for a product with models) from the cart;
    /// returns the cart after (`None` if there is no cart).
    pub async fn remove(
        &self,
        customer: &CustomerId,
        product_id: &ProductId,
        model: Option<&ProductId>,
    ) -> Result<Option<Cart>> {
        self.backend
            .carts
            .remove_lines(
                customer,
                std::slice::from_ref(crate::variant::stock_id(product_id, model)),
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
                "shop_id",
                "the shop does not sell this product",
            ));
        }
        Ok(product)
    }
}
