//! What a checkout is asked for, and what a review answers.

use crate::error::{Error, Result};
use crate::id::{ProductId, ShopId};
use crate::idempotency::IdempotencyKey;
use crate::money::Money;
use crate::order::{AppliedDiscount, CheckoutTotals};
use crate::service::discount::ItemRequest;
use crate::validate::{self, MAX_QUANTITY};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Most shops in one checkout.
const MAX_SHOPS: usize = 20;
/// Most distinct products in one checkout.
const MAX_LINES: usize = 100;

/// One shop's part of a checkout request: what to buy from it (client prices, if any, are
/// never asked for) and at most one of its codes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShopOrder {
    /// The shop.
    pub shop_id: ShopId,
    /// A code of this shop to apply, if any.
    pub code: Option<String>,
    /// What to buy from it; a product (and model) listed twice counts once with the units
    /// added.
    pub items: Vec<ItemRequest>,
}

impl ShopOrder {
    /// Buying `items` (product, units) from `shop_id`, without a code.
    pub fn new(shop_id: ShopId, items: impl IntoIterator<Item = (ProductId, u32)>) -> Self {
        ShopOrder {
            shop_id,
            code: None,
            items: items
                .into_iter()
                .map(|(product_id, quantity)| ItemRequest::new(product_id, quantity))
                .collect(),
        }
    }

    /// Also buying `quantity` units of `model` of `product`.
    pub fn with_model(mut self, product: ProductId, model: ProductId, quantity: u32) -> Self {
        self.items
            .push(ItemRequest::new(product, quantity).of_model(model));
        self
    }

    /// With the shop's code `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// A checkout request: what to buy, grouped by shop. Errors name the fields `shops`, `shop`,
/// `items`, `quantity` and `code`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CheckoutRequest {
    /// The shops' parts, 1 to 20, each shop once.
    pub shops: Vec<ShopOrder>,
}

impl CheckoutRequest {
    /// A request of these shops' parts.
    pub fn new(shops: impl IntoIterator<Item = ShopOrder>) -> Self {
        CheckoutRequest {
            shops: shops.into_iter().collect(),
        }
    }
}

/// Input of [`CheckoutService::place_order`](crate::service::CheckoutService::place_order).
#[derive(Clone, PartialEq, Debug)]
pub struct PlaceOrder {
    /// What to buy.
    pub request: CheckoutRequest,
    /// Shipping address (free-form JSON, stored as given).
    pub shipping: Value,
    /// The payment method: a name registered in
    /// [`EcomConfig::payments`](crate::EcomConfig::payments) (`cod` by default).
    pub payment_method: String,
    /// The client's `Idempotency-Key`; a repeat returns the first outcome. Without one every
    /// call is a new checkout.
    pub idempotency_key: Option<IdempotencyKey>,
}

impl PlaceOrder {
    /// Placing `request`, shipped to `address` (field, value pairs such as `("city",
    /// "Hanoi")`), paid cash on delivery, without an idempotency key.
    pub fn new<K, V>(request: CheckoutRequest, address: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<Value>,
    {
        PlaceOrder {
            request,
            shipping: Value::Object(
                address
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            payment_method: "cod".to_owned(),
            idempotency_key: None,
        }
    }

    /// Paid by `method` (a registered payment method, such as `online`).
    pub fn with_payment(mut self, method: impl Into<String>) -> Self {
        self.payment_method = method.into();
        self
    }

    /// With this idempotency key (a repeat returns the first outcome).
    pub fn with_idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

/// A line priced by the server.
#[derive(Clone, PartialEq, Debug)]
pub struct ReviewedItem {
    /// The product.
    pub product_id: ProductId,
    /// Its model, for a product with models.
    pub model_id: Option<ProductId>,
    /// The model's name (`Red / M`).
    pub model_name: Option<String>,
    /// Its name.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// Stored unit price (the model's, for a product with models).
    pub unit_price: Money,
    /// `quantity * unit_price`.
    pub value: Money,
    /// Its share of the shop's discount ([`crate::discount::Discount::shares`]): the shares
    /// of a shop's lines add up to its discounts exactly.
    pub discount_share: Money,
}

/// One shop's part, priced.
#[derive(Clone, PartialEq, Debug)]
pub struct ShopReview {
    /// The shop.
    pub shop_id: ShopId,
    /// Its lines.
    pub items: Vec<ReviewedItem>,
    /// Its code, if one was sent and applies.
    pub discounts: Vec<AppliedDiscount>,
    /// Sum of its lines.
    pub subtotal: Money,
    /// `subtotal` minus its discounts.
    pub after_discounts: Money,
}

/// The result of a review.
#[derive(Clone, PartialEq, Debug)]
pub struct CheckoutReview {
    /// Per shop.
    pub shops: Vec<ShopReview>,
    /// Totals.
    pub totals: CheckoutTotals,
}

/// A line of a checkout: the product and its model, if any.
pub(crate) type LineKey = (ProductId, Option<ProductId>);

impl CheckoutRequest {
    /// Validates the request's shape and returns the units wanted per line (duplicates merged).
    pub(crate) fn wanted_lines(&self) -> Result<BTreeMap<LineKey, u32>> {
        let shops = &self.shops;
        if shops.is_empty() || shops.len() > MAX_SHOPS {
            return Err(Error::validation(
                "shops",
                format!("must hold 1 to {MAX_SHOPS} shops"),
            ));
        }
        let mut seen_shops = HashSet::new();
        let mut wanted: BTreeMap<LineKey, u32> = BTreeMap::new();
        for shop in shops {
            if !seen_shops.insert(&shop.shop_id) {
                return Err(Error::validation("shop", "each shop may appear once"));
            }
            if shop.items.is_empty() {
                return Err(Error::validation("items", "must not be empty"));
            }
            for item in &shop.items {
                let quantity = validate::quantity("quantity", item.quantity)?;
                let line = (item.product_id.clone(), item.model_id.clone());
                let total = wanted.entry(line).or_insert(0);
                *total = total.saturating_add(quantity);
                if *total > MAX_QUANTITY {
                    return Err(Error::validation(
                        "quantity",
                        format!("must be between 1 and {MAX_QUANTITY}"),
                    ));
                }
            }
        }
        if wanted.len() > MAX_LINES {
            return Err(Error::validation(
                "items",
                format!("at most {MAX_LINES} lines (products and models) per checkout"),
            ));
        }
        Ok(wanted)
    }
}
