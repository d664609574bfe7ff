//! Discount codes: the create, quote and cancel bodies, list queries, and the discount JSON
//! (`discount_*` fields).

use crate::error::AppError;
use chrono::{DateTime, Utc};
use ecom_core::discount::{AppliesTo, Discount, DiscountValue};
use ecom_core::id::{ProductId, ShopId};
use ecom_core::money::{parse_percent, Currency, MajorUnits, Money};
use ecom_core::page::{Page, DEFAULT_PAGE_LIMIT};
use ecom_core::service::{DiscountQuote, ItemRequest, NewDiscount};
use ecom_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

/// `percentage` or `fixed`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscountTypeParam {
    /// `value` is a percentage: greater than 0, at most 100, at most two decimals.
    Percentage,
    /// `value` is an amount in major units.
    Fixed,
}

/// `all` or `specific_products`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppliesToParam {
    /// Every product of the shop.
    All,
    /// Only the products in `product_ids`.
    SpecificProducts,
}

fn default_true() -> bool {
    true
}

/// Body of `POST /discounts`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateDiscountBody {
    /// The code customers type: 1 to 50 letters, digits, `-` or `_` (trimmed); unique among
    /// the shop's active codes (409 otherwise).
    #[schema(schema_with = code_schema, example = "SUMMER10")]
    pub code: String,
    /// Name, 1 to 200 characters (trimmed).
    #[schema(schema_with = super::text::<200>, example = "Summer sale")]
    pub name: String,
    /// Description, up to 2000 characters (optional).
    #[serde(default)]
    #[schema(schema_with = super::optional_text::<2000>)]
    pub description: String,
    /// `percentage` or `fixed`.
    #[serde(rename = "type")]
    pub kind: DiscountTypeParam,
    /// The percentage (`10`, `12.5`: greater than 0, at most 100) or the amount off in major
    /// units.
    #[schema(schema_with = super::discount_value_schema)]
    pub value: MajorUnits,
    /// Valid from (RFC 3339, inclusive), in the years 1 to 9999.
    pub start_date: DateTime<Utc>,
    /// Valid until (RFC 3339, exclusive), in the years 1 to 9999; after `start_date` and in
    /// the future.
    pub end_date: DateTime<Utc>,
    /// Total uses allowed, 1 to 100000000.
    #[schema(minimum = 1, maximum = 100000000, example = 100)]
    #[serde(deserialize_with = "super::whole")]
    pub max_uses: u32,
    /// Uses per customer, 1 to `max_uses`.
    #[schema(minimum = 1, maximum = 100000000, example = 1)]
    #[serde(deserialize_with = "super::whole")]
    pub max_uses_per_user: u32,
    /// Minimum value of the lines the code counts, in major units (default 0).
    #[serde(default)]
    #[schema(schema_with = super::nullable_amount_schema)]
    pub min_order_value: Option<MajorUnits>,
    /// Whether the code can be used (default true).
    #[serde(default = "default_true")]
    pub is_active: bool,
    /// `all` or `specific_products`.
    pub applies_to: AppliesToParam,
    /// For `specific_products`: 1 to 1000 of the shop's products (ignored for `all`).
    #[serde(default)]
    #[schema(schema_with = product_ids_schema)]
    pub product_ids: Vec<ProductId>,
}

/// Schema of a new code: 1 to 50 letters, digits, `-` or `_`, with white space around it.
fn code_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(super::trimmed("[A-Za-z0-9_-]{1,50}")))
        .into()
}

/// Schema of `product_ids`: up to 1000 ids.
fn product_ids_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(super::id_schema())
        .max_items(Some(1000))
        .into()
}

impl CreateDiscountBody {
    /// The core's input, with `value` and `min_order_value` read exactly (amounts in
    /// `currency`, a percentage to basis points).
    pub fn into_new_discount(self, currency: Currency) -> Result<NewDiscount, Error> {
        let value = match self.kind {
            DiscountTypeParam::Percentage => {
                DiscountValue::Percentage(parse_percent(&self.value, "value")?)
            }
            DiscountTypeParam::Fixed => {
                DiscountValue::Fixed(Money::parse_major(&self.value, currency, "value")?)
            }
        };
        Ok(NewDiscount {
            code: self.code,
            name: self.name,
            description: self.description,
            value,
            starts_at: self.start_date,
            ends_at: self.end_date,
            max_uses: self.max_uses,
            max_uses_per_customer: self.max_uses_per_user,
            min_order_value: self
                .min_order_value
                .map(|min| Money::parse_major(&min, currency, "min_order_value"))
                .transpose()?,
            active: self.is_active,
            applies_to: match self.applies_to {
                AppliesToParam::All => AppliesTo::All,
                AppliesToParam::SpecificProducts => AppliesTo::SpecificProducts(self.product_ids),
            },
        })
    }
}

/// Query of `GET /discounts/list_product_code`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductsForCodeQuery {
    /// The code.
    pub code: String,
    /// The shop whose code it is.
    #[serde(rename = "shopId")]
    #[param(value_type = String, pattern = "^[0-9a-f]{32}$")]
    pub shop_id: ShopId,
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
}

impl ProductsForCodeQuery {
    /// The page this query asks for.
    pub fn page(&self) -> Result<Page, AppError> {
        Ok(Page::numbered(
            self.page.unwrap_or(1),
            self.limit.unwrap_or(DEFAULT_PAGE_LIMIT),
        )?)
    }
}

/// A product and quantity in a quote or a checkout. A client-sent `price` is accepted and
/// ignored: prices always come from the server.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemBody {
    /// The product.
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: ProductId,
    /// The model (its `model_id`): required for a product with models, refused for one
    /// without.
    #[serde(default, rename = "modelId")]
    #[schema(schema_with = super::optional_id_schema)]
    pub model_id: Option<ProductId>,
    /// Units, 1 to 1000000.
    #[schema(schema_with = super::quantity_schema, example = 1)]
    #[serde(deserialize_with = "super::whole")]
    pub quantity: u32,
    /// Ignored.
    #[serde(default)]
    #[schema(schema_with = super::ignored_schema)]
    pub price: Option<Value>,
}

impl From<ItemBody> for ItemRequest {
    fn from(item: ItemBody) -> Self {
        ItemRequest {
            product_id: item.product_id,
            quantity: item.quantity,
            model_id: item.model_id,
        }
    }
}

/// Body of `POST /discounts/amount`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuoteBody {
    /// The code (the text customers type).
    #[serde(rename = "codeId")]
    #[schema(example = "SUMMER10")]
    pub code: String,
    /// The shop whose code it is.
    #[serde(rename = "shopId")]
    #[schema(schema_with = super::id_schema)]
    pub shop_id: ShopId,
    /// 1 to 100 lines to price.
    #[schema(min_items = 1, max_items = 100)]
    pub products: Vec<ItemBody>,
}

/// What a code takes off (money in major units).
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteDto {
    /// Value of all the lines.
    #[serde(rename = "totalOrder")]
    #[schema(value_type = f64)]
    pub total_order: Value,
    /// Amount off.
    #[schema(value_type = f64)]
    pub discount: Value,
    /// `totalOrder - discount`.
    #[serde(rename = "totalPrice")]
    #[schema(value_type = f64)]
    pub total_price: Value,
}

impl From<DiscountQuote> for QuoteDto {
    fn from(quote: DiscountQuote) -> Self {
        QuoteDto {
            total_order: quote.total_order.major_json(),
            discount: quote.discount.major_json(),
            total_price: quote.total_price.major_json(),
        }
    }
}

/// Body of `POST /discounts/cancel`: gives the caller's latest use of a code back.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelUseBody {
    /// The code.
    #[serde(rename = "codeId")]
    #[schema(example = "SUMMER10")]
    pub code: String,
    /// The shop whose code it is.
    #[serde(rename = "shopId")]
    #[schema(schema_with = super::id_schema)]
    pub shop_id: ShopId,
}

/// A discount code as its shop sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscountDto {
    /// The id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The code.
    pub discount_code: String,
    /// Name.
    pub discount_name: String,
    /// Description.
    pub discount_description: String,
    /// `percentage` or `fixed`.
    pub discount_type: DiscountTypeParam,
    /// The percentage (`12.5`) or the amount off in major units.
    #[schema(value_type = f64)]
    pub discount_value: Value,
    /// Valid from (inclusive).
    pub discount_start_date: DateTime<Utc>,
    /// Valid until (exclusive).
    pub discount_end_date: DateTime<Utc>,
    /// Total uses allowed.
    pub discount_max_uses: u32,
    /// Uses so far (placed orders and checkouts in flight).
    pub discount_uses_count: u32,
    /// Uses allowed per customer.
    pub discount_max_uses_per_user: u32,
    /// Minimum value of the counted lines, in major units.
    #[schema(value_type = f64)]
    pub discount_min_order_value: Value,
    /// The owning shop.
    #[serde(rename = "discount_shopId")]
    pub shop_id: String,
    /// Whether the code can be used.
    pub discount_is_active: bool,
    /// `all` or `specific_products`.
    pub discount_applies_to: AppliesToParam,
    /// For `specific_products`, the products that count; else empty.
    pub discount_product_ids: Vec<String>,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
}

/// A percentage in basis points as a JSON number (`1250` -> `12.5`), exact like money.
fn percent_json(basis_points: u32) -> Value {
    format!("{}.{:02}", basis_points / 100, basis_points % 100)
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

impl From<Discount> for DiscountDto {
    fn from(d: Discount) -> Self {
        let (kind, value) = match d.value {
            DiscountValue::Percentage(bp) => (DiscountTypeParam::Percentage, percent_json(bp)),
            DiscountValue::Fixed(off) => (DiscountTypeParam::Fixed, off.major_json()),
        };
        let (applies_to, product_ids) = match &d.applies_to {
            AppliesTo::All => (AppliesToParam::All, Vec::new()),
            AppliesTo::SpecificProducts(ids) => (
                AppliesToParam::SpecificProducts,
                ids.iter().map(ToString::to_string).collect(),
            ),
        };
        DiscountDto {
            id: d.id.to_string(),
            discount_uses_count: d.uses_count(),
            discount_code: d.code,
            discount_name: d.name,
            discount_description: d.description,
            discount_type: kind,
            discount_value: value,
            discount_start_date: d.starts_at,
            discount_end_date: d.ends_at,
            discount_max_uses: d.max_uses,
            discount_max_uses_per_user: d.max_uses_per_customer,
            discount_min_order_value: d.min_order_value.major_json(),
            shop_id: d.shop_id.to_string(),
            discount_is_active: d.is_active,
            discount_applies_to: applies_to,
            discount_product_ids: product_ids,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// The answer of `POST /discounts/cancel`: the code and how many uses the caller still has on
/// it (other customers' uses are not shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledUseDto {
    /// The code.
    pub discount_code: String,
    /// The shop whose code it is.
    #[serde(rename = "discount_shopId")]
    pub shop_id: String,
    /// The caller's uses of the code after the cancel.
    pub discount_uses_by_user: u32,
}

/// The answer of `DELETE /discounts/{code}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedDiscountDto {
    /// The deleted code.
    pub discount_code: String,
}
