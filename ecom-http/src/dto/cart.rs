//! Carts: the add, update and remove bodies, and the cart JSON.

use ecom_core::cart::{Cart, CartLine, CartState};
use ecom_core::id::{ProductId, ShopId};
use ecom_core::service::{CartItem, CartUpdate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The product of `POST /carts`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CartProductBody {
    /// A published product.
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: ProductId,
    /// The shop that sells it.
    #[serde(rename = "shopId")]
    #[schema(schema_with = super::id_schema)]
    pub shop_id: ShopId,
    /// The model (its `model_id`): required for a product with models, refused for one
    /// without.
    #[serde(default, rename = "modelId")]
    #[schema(schema_with = super::optional_id_schema)]
    pub model_id: Option<ProductId>,
    /// Units to add, 1 to 1000000 (the line's total may not exceed 1000000 either).
    #[schema(schema_with = super::quantity_schema, example = 2)]
    #[serde(deserialize_with = "super::whole")]
    pub quantity: u32,
    /// Ignored: the cart shows the stored price and checkout always uses it.
    #[serde(default)]
    #[schema(schema_with = super::ignored_schema)]
    pub price: Option<Value>,
}

/// Body of `POST /carts`: adds units of a product (or increases its line).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddToCartBody {
    /// What to add.
    pub product: CartProductBody,
}

impl From<AddToCartBody> for CartItem {
    fn from(body: AddToCartBody) -> Self {
        CartItem {
            product_id: body.product.product_id,
            shop_id: body.product.shop_id,
            quantity: body.product.quantity,
            model_id: body.product.model_id,
        }
    }
}

/// One change of `POST /carts/update`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CartChangeBody {
    /// The product (already in the cart unless `quantity` is 0).
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: ProductId,
    /// The model (its `model_id`): required for a product with models, refused for one
    /// without.
    #[serde(default, rename = "modelId")]
    #[schema(schema_with = super::optional_id_schema)]
    pub model_id: Option<ProductId>,
    /// The wanted quantity, 0 to 1000000; 0 removes the line.
    #[schema(minimum = 0, maximum = 1000000, example = 3)]
    #[serde(deserialize_with = "super::whole")]
    pub quantity: u32,
    /// The quantity the client last saw, 0 to 1000000; the line changes by
    /// `quantity - old_quantity` and must stay between 1 and 1000000.
    #[schema(minimum = 0, maximum = 1000000, example = 2)]
    #[serde(deserialize_with = "super::whole")]
    pub old_quantity: u32,
    /// Ignored: prices come from the server.
    #[serde(default)]
    #[schema(schema_with = super::ignored_schema)]
    pub price: Option<Value>,
}

/// One shop's changes in `POST /carts/update`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CartShopChanges {
    /// The shop that sells the products.
    #[serde(rename = "shopId")]
    #[schema(schema_with = super::id_schema)]
    pub shop_id: ShopId,
    /// The changes, applied in order.
    #[schema(min_items = 1, max_items = 100)]
    pub item_products: Vec<CartChangeBody>,
}

/// Body of `POST /carts/update`. Changes apply in order and stop at the
/// first that fails; 1 to 100 changes in all.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateCartBody {
    /// Changes grouped by shop (1 to 100 changes in all).
    #[schema(min_items = 1, max_items = 100)]
    pub shop_order_ids: Vec<CartShopChanges>,
}

impl UpdateCartBody {
    /// The changes in the order they were sent.
    pub fn changes(self) -> Vec<CartUpdate> {
        self.shop_order_ids
            .into_iter()
            .flat_map(|shop| {
                let shop_id = shop.shop_id;
                shop.item_products.into_iter().map(move |item| CartUpdate {
                    shop_id: shop_id.clone(),
                    product_id: item.product_id,
                    model_id: item.model_id,
                    quantity: item.quantity,
                    old_quantity: item.old_quantity,
                })
            })
            .collect()
    }
}

/// Body of `DELETE /carts`: removes a product's line.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RemoveFromCartBody {
    /// The product to remove (absent lines are ignored).
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: ProductId,
    /// Its model's line, for a product with models.
    #[serde(default, rename = "modelId")]
    #[schema(schema_with = super::optional_id_schema)]
    pub model_id: Option<ProductId>,
}

/// One line of a cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartProductDto {
    /// The product.
    #[serde(rename = "productId")]
    pub product_id: String,
    /// Its shop.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// Units.
    pub quantity: u32,
    /// Unit price in major units when the line was added (checkout re-reads it).
    #[schema(value_type = f64, example = 19.99)]
    pub price: Value,
    /// Product name when the line was added.
    pub name: String,
    /// The model, for a product with models (else absent).
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The model's name when the line was added (`Red / M`; else absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
}

impl From<CartLine> for CartProductDto {
    fn from(line: CartLine) -> Self {
        CartProductDto {
            product_id: line.product_id.to_string(),
            shop_id: line.shop_id.to_string(),
            quantity: line.quantity,
            price: line.price.major_json(),
            name: line.name,
            model_id: line.model_id.map(|m| m.to_string()),
            model_name: line.model_name,
        }
    }
}

/// The customer's active cart. A customer without a cart gets the empty cart:
/// `{"_id": null, "cart_state": "active", "cart_products": [], "cart_count_product": 0}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartDto {
    /// The cart id; `null` while the customer has no cart.
    #[serde(rename = "_id")]
    pub id: Option<String>,
    /// `active` (also for the empty cart), `completed`, `failed` or `pending`.
    #[schema(example = "active")]
    pub cart_state: String,
    /// The lines, one per product (per model, for a product with models).
    pub cart_products: Vec<CartProductDto>,
    /// How many distinct products the cart holds.
    pub cart_count_product: usize,
}

fn state_name(state: CartState) -> String {
    match serde_json::to_value(state) {
        Ok(Value::String(name)) => name,
        _ => "active".to_owned(),
    }
}

impl From<Option<Cart>> for CartDto {
    fn from(cart: Option<Cart>) -> Self {
        match cart {
            None => CartDto {
                id: None,
                cart_state: state_name(CartState::Active),
                cart_products: Vec::new(),
                cart_count_product: 0,
            },
            Some(cart) => CartDto {
                id: Some(cart.id.to_string()),
                cart_state: state_name(cart.state),
                cart_count_product: cart.count_product(),
                cart_products: cart.lines.into_iter().map(Into::into).collect(),
            },
        }
    }
}
