//! Discount codes: create, list, quote, delete, give a use back.

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::{AppliesTo, Discount, DiscountValue, LineValue, Redemption};
use crate::error::{Error, Result};
use crate::id::{CustomerId, DiscountId, ProductId, ShopId};
use crate::money::Money;
use crate::page::Page;
use crate::product::{Product, ProductFilter, ProductQuery, ProductSort};
use crate::service::config::EcomConfig;
use crate::validate;
use std::sync::Arc;

/// Most products a `specific_products` code may list.
const MAX_CODE_PRODUCTS: usize = 1000;

/// Input of [`DiscountService::create`]. Build one with [`NewDiscount::new`] and the `with_*`
/// methods. Errors name these fields.
///
/// ```
/// use ecom_core::discount::DiscountValue;
/// use ecom_core::service::NewDiscount;
///
/// let now = chrono::Utc::now();
/// let summer = NewDiscount::new("SUMMER10", DiscountValue::Percentage(1000), now, now + chrono::Duration::days(30), 100)
///     .with_max_uses_per_customer(1);
/// assert_eq!(summer.max_uses_per_customer, 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewDiscount {
    /// The code customers type: 1..=50 letters, digits, `-` or `_`.
    pub code: String,
    /// Name, 1..=200 characters.
    pub name: String,
    /// Description.
    pub description: String,
    /// What it takes off: a percentage in basis points (1..=10000) or an amount (above 0, in
    /// the configured currency).
    pub value: DiscountValue,
    /// Valid from (inclusive).
    pub starts_at: Timestamp,
    /// Valid until (exclusive); after `starts_at` and in the future.
    pub ends_at: Timestamp,
    /// Total uses allowed, 1..=100,000,000.
    pub max_uses: u32,
    /// Uses per customer, 1..=`max_uses`.
    pub max_uses_per_customer: u32,
    /// Minimum value of the lines the code counts (zero or more).
    pub min_order_value: Option<Money>,
    /// Whether the code can be used.
    pub active: bool,
    /// Which of the shop's products count.
    pub applies_to: AppliesTo,
}

impl NewDiscount {
    /// An active code `code` (also its name) taking `value` off every product of the shop,
    /// valid from `starts_at` until `ends_at`, `max_uses` times in all and as often per
    /// customer, with no minimum.
    pub fn new(
        code: impl Into<String>,
        value: DiscountValue,
        starts_at: Timestamp,
        ends_at: Timestamp,
        max_uses: u32,
    ) -> Self {
        let code = code.into();
        NewDiscount {
            name: code.clone(),
            code,
            description: String::new(),
            value,
            starts_at,
            ends_at,
            max_uses,
            max_uses_per_customer: max_uses,
            min_order_value: None,
            active: true,
            applies_to: AppliesTo::All,
        }
    }

    /// With at most `uses` uses per customer.
    pub fn with_max_uses_per_customer(mut self, uses: u32) -> Self {
        self.max_uses_per_customer = uses;
        self
    }

    /// With this name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Counting only these products of the shop.
    pub fn for_products(mut self, products: impl IntoIterator<Item = ProductId>) -> Self {
        self.applies_to = AppliesTo::SpecificProducts(products.into_iter().collect());
        self
    }

    /// With this minimum value of the lines the code counts.
    pub fn with_min_order_value(mut self, min: Money) -> Self {
        self.min_order_value = Some(min);
        self
    }
}

/// A product and quantity, as asked for in a quote or a checkout.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ItemRequest {
    /// The product.
    pub product_id: ProductId,
    /// Units, 1..=[`MAX_QUANTITY`](crate::validate::MAX_QUANTITY).
    pub quantity: u32,
    /// Its model: required for a product with models, refused for one without.
    pub model_id: Option<ProductId>,
}

impl ItemRequest {
    /// `quantity` units of `product_id` (a product without models).
    pub fn new(product_id: ProductId, quantity: u32) -> Self {
        ItemRequest {
            product_id,
            quantity,
            model_id: None,
        }
    }

    /// Of its model `model`.
    pub fn of_model(mut self, model: ProductId) -> Self {
        self.model_id = Some(model);
        self
    }
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

    /// Creates a code for `shop`. [`Error::AlreadyExists`] if the shop has an active code with the
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
        let value = match input.value {
            DiscountValue::Percentage(bp) if bp == 0 || bp > 10_000 => {
                return Err(Error::validation(
                    "value",
                    "a percentage must be greater than 0 and at most 100",
                ))
            }
            DiscountValue::Fixed(off) => {
                let off = off.checked_input(currency, "value")?;
                if off.minor <= 0 {
                    return Err(Error::validation("value", "must be greater than 0"));
                }
                DiscountValue::Fixed(off)
            }
            percentage => percentage,
        };
        let now = self.backend.clock.now();
        validate::date("starts_at", input.starts_at)?;
        validate::date("ends_at", input.ends_at)?;
        if input.starts_at >= input.ends_at {
            return Err(Error::validation("ends_at", "must be after the start"));
        }
        if input.ends_at <= now {
            return Err(Error::validation("ends_at", "must be in the future"));
        }
        if input.max_uses == 0 || input.max_uses > 100_000_000 {
            return Err(Error::validation(
                "max_uses",
                "must be between 1 and 100000000",
            ));
        }
        if input.max_uses_per_customer == 0 || input.max_uses_per_customer > input.max_uses {
            return Err(Error::validation(
                "max_uses_per_customer",
                "must be between 1 and max_uses",
            ));
        }
        let min_order_value = match input.min_order_value {
            Some(min) => min.checked_input(currency, "min_order_value")?,
            None => Money::zero(currency),
        };
        if min_order_value.minor < 0 {
            return Err(Error::validation("min_order_value", "must not be negative"));
        }
        let applies_to = match input.applies_to {
            AppliesTo::All => AppliesTo::All,
            AppliesTo::SpecificProducts(mut ids) => {
                ids.sort();
                ids.dedup();
                if ids.is_empty() || ids.len() > MAX_CODE_PRODUCTS {
                    return Err(Error::validation(
                        "applies_to",
                        format!("must list 1 to {MAX_CODE_PRODUCTS} products"),
                    ));
                }
                let found = self.backend.products.get_many(&ids).await?;
                if found.len() != ids.len() || found.iter().any(|p| &p.shop_id != shop) {
                    return Err(Error::validation(
                        "applies_to",
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
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            max_uses: input.max_uses,
            max_uses_per_customer: input.max_uses_per_customer,
            min_order_value,
            is_active: input.active,
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
                        after: None,
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
            let price = product
                .model_of_line(item.model_id.as_ref())?
                .map_or(product.price, |m| m.price);
            let value = price.checked_mul(u64::from(quantity))?;
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
        Err(Error::refused(
            "discount use",
            "belongs to a placed order; it comes back when the order is cancelled",
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
