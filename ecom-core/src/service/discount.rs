//! Discount codes: create, list, quote, delete, give a use back.

use super::config::EcomConfig;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::{AppliesTo, Discount, DiscountValue, LineValue, Redemption};
use crate::error::{Error, Result};
use crate::id::{CustomerId, DiscountId, ProductId, ShopId};
use crate::money::{parse_percent, MajorUnits, Money};
use crate::page::Page;
use crate::product::{Product, ProductFilter, ProductQuery, ProductSort};
use crate::validate;
use serde::Deserialize;
use std::sync::Arc;

/// Most products a `specific_products` code may list.
const MAX_CODE_PRODUCTS: usize = 1000;

/// `percentage` or `fixed`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscountType {
    /// `value` is a percentage (at most two decimals, at most 100).
    Percentage,
    /// `value` is an amount in major units.
    Fixed,
}

/// `all` or `specific_products`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesToKind {
    /// Every product of the shop.
    All,
    /// Only `product_ids`.
    SpecificProducts,
}

/// Input of [`DiscountService::create`] (field names as in the API).
#[derive(Clone, Debug, Deserialize)]
pub struct NewDiscount {
    /// The code customers type: 1..=50 letters, digits, `-` or `_`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Percentage or fixed.
    #[serde(rename = "type")]
    pub kind: DiscountType,
    /// The percentage or the amount.
    pub value: MajorUnits,
    /// Valid from (RFC 3339).
    pub start_date: Timestamp,
    /// Valid until, exclusive (RFC 3339); after `start_date` and in the future.
    pub end_date: Timestamp,
    /// Total uses allowed, at least 1.
    pub max_uses: u32,
    /// Uses per customer, 1..=`max_uses`.
    pub max_uses_per_user: u32,
    /// Minimum value of the applicable lines (default 0).
    #[serde(default)]
    pub min_order_value: Option<MajorUnits>,
    /// Whether the code can be used (default true).
    #[serde(default = "default_true")]
    pub is_active: bool,
    /// Which products count.
    pub applies_to: AppliesToKind,
    /// For `specific_products`: the shop's products that count.
    #[serde(default)]
    pub product_ids: Vec<ProductId>,
}

fn default_true() -> bool {
    true
}

/// A product and quantity, as asked for in a quote or a checkout.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ItemRequest {
    /// The product.
    pub product_id: ProductId,
    /// Units, 1..=[`MAX_QUANTITY`](crate::validate::MAX_QUANTITY).
    pub quantity: u32,
}

/// What a code takes off a set of lines.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DiscountQuote {
    /// Value of all the lines.
    pub total_order: Money,
    /// Amount off.
    pub discount: Money,
    /// `total_order - discount`.
    pub total_price: Money,
}

/// The discount use cases.
#[derive(Clone, Debug)]
pub struct DiscountService {
    backend: Backend,
    config: Arc<EcomConfig>,
}

impl DiscountService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        DiscountService { backend, config }
    }

    /// Creates a code for `shop`. [`Error::Conflict`] if the shop has an active code with the
    /// same text.
    pub async fn create(&self, shop: &ShopId, input: NewDiscount) -> Result<Discount> {
        let code = input.code.trim().to_owned();
        let code_ok = (1..=50).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !code_ok {
            return Err(Error::validation(
                "code",
                "must be 1 to 50 letters, digits, '-' or '_'",
            ));
        }
        let name = validate::text("name", &input.name, 200)?;
        let description = validate::optional_text("description", &input.description, 2000)?;
        let currency = self.config.currency;
        let value = match input.kind {
            DiscountType::Percentage => {
                DiscountValue::Percentage(parse_percent(&input.value, "value")?)
            }
            DiscountType::Fixed => {
                let off = Money::parse_major(&input.value, currency, "value")?;
                if off.minor <= 0 {
                    return Err(Error::validation("value", "must be greater than 0"));
                }
                DiscountValue::Fixed(off)
            }
        };
        let now = self.backend.clock.now();
        validate::date("start_date", input.start_date)?;
        validate::date("end_date", input.end_date)?;
        if input.start_date >= input.end_date {
            return Err(Error::validation("end_date", "must be after start_date"));
        }
        if input.end_date <= now {
            return Err(Error::validation("end_date", "must be in the future"));
        }
        if input.max_uses == 0 || input.max_uses > 100_000_000 {
            return Err(Error::validation(
                "max_uses",
                "must be between 1 and 100000000",
            ));
        }
        if input.max_uses_per_user == 0 || input.max_uses_per_user > input.max_uses {
            return Err(Error::validation(
                "max_uses_per_user",
                "must be between 1 and max_uses",
            ));
        }
        let min_order_value = match &input.min_order_value {
            Some(v) => Money::parse_major(v, currency, "min_order_value")?,
            None => Money::zero(currency),
        };
        if min_order_value.minor < 0 {
            return Err(Error::validation("min_order_value", "must not be negative"));
        }
        let applies_to = match input.applies_to {
            AppliesToKind::All => AppliesTo::All,
            AppliesToKind::SpecificProducts => {
                let mut ids = input.product_ids;
                ids.sort();
                ids.dedup();
                if ids.is_empty() || ids.len() > MAX_CODE_PRODUCTS {
                    return Err(Error::validation(
                        "product_ids",
                        format!("must list 1 to {MAX_CODE_PRODUCTS} products"),
                    ));
                }
                let found = self.backend.products.get_many(&ids).await?;
                if found.len() != ids.len() || found.iter().any(|p| &p.shop_id != shop) {
                    return Err(Error::validation(
                        "product_ids",
                        "must be products of your shop",
                    ));
                }
                AppliesTo::SpecificProducts(ids)
            }
        };
        let discount = Discount {
            id: DiscountId::generate(),
            shop_id: shop.clone(),
            code,
            name,
            description,
            value,
            starts_at: input.start_date,
            ends_at: input.end_date,
            max_uses: input.max_uses,
            max_uses_per_user: input.max_uses_per_user,
            min_order_value,
            is_active: input.is_active,
            applies_to,
            uses: 0,
            open: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        self.backend.discounts.insert(&discount).await?;
        Ok(discount)
    }

    /// The shop's active codes, newest first.
    pub async fn list(&self, shop: &ShopId, page: Page) -> Result<Vec<Discount>> {
        self.backend.discounts.list_active(shop, page).await
    }

    /// The published products the shop's active `code` applies to.
    pub async fn products_for_code(
        &self,
        shop: &ShopId,
        code: &str,
        page: Page,
    ) -> Result<Vec<Product>> {
        let discount = self.active(shop, code).await?;
        match discount.applies_to {
            AppliesTo::All => {
                self.backend
                    .products
                    .list(&ProductQuery {
                        filter: ProductFilter::Shop {
                            shop_id: shop.clone(),
                            published: true,
                        },
                        sort: ProductSort::Newest,
                        page,
                    })
                    .await
            }
            AppliesTo::SpecificProducts(ids) => {
                let mut products = self.backend.products.get_many(&ids).await?;
                products.retain(|p| p.is_published);
                products.sort_by(|a, b| b.id.cmp(&a.id));
                Ok(page.apply(products))
            }
        }
    }

    /// What the shop's `code` takes off `items` for `customer`, at server prices.
    pub async fn quote(
        &self,
        customer: &CustomerId,
        shop: &ShopId,
        code: &str,
        items: &[ItemRequest],
    ) -> Result<DiscountQuote> {
        if items.is_empty() || items.len() > 100 {
            return Err(Error::validation("products", "must hold 1 to 100 items"));
        }
        let discount = self.active(shop, code).await?;
        let ids: Vec<ProductId> = items.iter().map(|i| i.product_id.clone()).collect();
        let products = self.backend.products.get_many(&ids).await?;
        let mut lines = Vec::with_capacity(items.len());
        let mut total = Money::zero(self.config.currency);
        for item in items {
            let quantity = validate::quantity("quantity", item.quantity)?;
            let product = products
                .iter()
                .find(|p| p.id == item.product_id && p.is_published)
                .ok_or_else(|| Error::not_found("product"))?;
            let value = product.price.checked_mul(u64::from(quantity))?;
            total = total.checked_add(value)?;
            lines.push(LineValue {
                product_id: product.id.clone(),
                shop_id: product.shop_id.clone(),
                value,
            });
        }
        let used = self
            .backend
            .discounts
            .uses_by(&discount.id, customer)
            .await?;
        let off = discount.amount(&lines, used, self.backend.clock.now())?;
        Ok(DiscountQuote {
            total_order: total,
            discount: off,
            total_price: total.checked_sub(off)?,
        })
    }

    /// Deletes the shop's active `code`; [`Error::NotFound`] if there is none.
    pub async fn delete(&self, shop: &ShopId, code: &str) -> Result<()> {
        if self.backend.discounts.delete(shop, code.trim()).await? {
            Ok(())
        } else {
            Err(Error::not_found("discount"))
        }
    }

    /// How many uses of the code `customer` holds (placed orders and checkouts in flight).
    pub async fn uses_by(&self, customer: &CustomerId, discount: &DiscountId) -> Result<u32> {
        self.backend.discounts.uses_by(discount, customer).await
    }

    /// Gives back the customer's use of the shop's `code` that belongs to no placed order (a
    /// checkout that never finished: its order id is voided first, so it can never be placed).
    /// A use held by a placed order returns only when that order is cancelled:
    /// [`Error::Conflict`]. [`Error::NotFound`] if the customer holds no use.
    pub async fn cancel_use(
        &self,
        customer: &CustomerId,
        shop: &ShopId,
        code: &str,
    ) -> Result<Discount> {
        let discount = self.active(shop, code).await?;
        let discounts = &self.backend.discounts;
        let holders = discounts.orders_using(&discount.id, customer).await?;
        if holders.is_empty() {
            return Err(Error::not_found("discount use"));
        }
        for order_id in holders {
            if self.backend.orders.void(&order_id).await?.is_some() {
                continue;
            }
            let use_ = Redemption {
                id: order_id.to_string(),
                order_id,
                customer_id: customer.clone(),
                at: self.backend.clock.now(),
            };
            discounts.release(&discount.id, &use_).await?;
            return discounts
                .get(&discount.id)
                .await?
                .ok_or_else(|| Error::not_found("discount"));
        }
        Err(Error::Conflict(
            "this use belongs to a placed order; it comes back when the order is cancelled".into(),
        ))
    }

    async fn active(&self, shop: &ShopId, code: &str) -> Result<Discount> {
        self.backend
            .discounts
            .find_active_by_code(shop, code.trim())
            .await?
            .ok_or_else(|| Error::not_found("discount"))
    }
}
