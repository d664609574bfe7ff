//! Inventory: the add-stock and adjust bodies, the stock JSON and the adjustments JSON.

use crate::error::AppError;
use chrono::{DateTime, Utc};
use ecom_core::id::ProductId;
use ecom_core::inventory::{Inventory, Reservation, StockAdjustment, StockChange, MAX_SET_STOCK};
use ecom_core::service::ProductStock;
use ecom_core::validate::MAX_QUANTITY;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Body of `POST /inventory`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddStockBody {
    /// The product (one of the caller's).
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: String,
    /// The model to add to: required for a product with models, refused for one without.
    #[serde(default, rename = "modelId")]
    #[schema(schema_with = super::optional_id_schema)]
    pub model_id: Option<ProductId>,
    /// Units to add, 1 to 1000000.
    #[schema(schema_with = super::quantity_schema, example = 5)]
    #[serde(deserialize_with = "super::whole")]
    pub stock: u32,
    /// Where the stock is, up to 200 characters (optional; replaces the stored location).
    #[serde(default)]
    #[schema(schema_with = super::nullable_text::<200>)]
    pub location: Option<String>,
}

/// Units held for one checkout or order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationDto {
    /// The holder: the order id of a checkout in flight, or a return's claim token.
    pub id: String,
    /// The order it belongs to.
    #[serde(rename = "orderId")]
    pub order_id: String,
    /// Units held.
    pub quantity: u32,
    /// When it was made.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
}

impl From<Reservation> for ReservationDto {
    fn from(r: Reservation) -> Self {
        ReservationDto {
            id: r.id,
            order_id: r.order_id.to_string(),
            quantity: r.quantity,
            created_at: r.created_at,
        }
    }
}

/// The stock of one product (for a product with models, the sum of theirs, each listed in
/// `models`), or, in the answer of a change, of the one model changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryDto {
    /// The product.
    #[serde(rename = "invent_productId")]
    pub product_id: String,
    /// The model this record is, in the answer of a change to one model (else absent).
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The owning shop.
    #[serde(rename = "invent_shopId")]
    pub shop_id: String,
    /// Units available.
    pub invent_stock: u64,
    /// Where the stock is.
    pub invent_location: String,
    /// Units held by open reservations (checkouts and returns in flight).
    pub invent_reserved: u64,
    /// Units in placed orders (not returned).
    pub invent_sold: u64,
    /// Units that came back damaged from returns: out of `invent_sold`, never on sale.
    pub invent_damaged: u64,
    /// The open reservations only: a placed order's units count in `invent_sold`.
    pub invent_reservations: Vec<ReservationDto>,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
    /// For a product with models, each model's stock, in the product's order (empty
    /// otherwise, and in the answer of a change).
    pub models: Vec<ModelStockDto>,
}

/// The stock of one model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelStockDto {
    /// The model.
    #[serde(rename = "modelId")]
    pub model_id: String,
    /// Units available.
    pub stock: u64,
    /// Units held by open reservations.
    pub reserved: u64,
    /// Units in placed orders (not returned).
    pub sold: u64,
    /// The open reservations.
    pub reservations: Vec<ReservationDto>,
}

impl From<ProductStock> for InventoryDto {
    fn from(stock: ProductStock) -> Self {
        let mut dto = InventoryDto::from(stock.total);
        dto.models = stock
            .models
            .into_iter()
            .map(|m| ModelStockDto {
                model_id: m.product_id.to_string(),
                stock: m.stock,
                reserved: m.reserved(),
                sold: m.sold,
                reservations: m.reservations.into_iter().map(Into::into).collect(),
            })
            .collect();
        dto
    }
}

impl From<Inventory> for InventoryDto {
    fn from(inv: Inventory) -> Self {
        let reserved = inv.reserved();
        let (product_id, model_id) = match inv.model_of {
            Some(product) => (product, Some(inv.product_id.to_string())),
            None => (inv.product_id, None),
        };
        InventoryDto {
            product_id: product_id.to_string(),
            model_id,
            models: Vec::new(),
            shop_id: inv.shop_id.to_string(),
            invent_stock: inv.stock,
            invent_reserved: reserved,
            invent_sold: inv.sold,
            invent_damaged: inv.damaged,
            invent_location: inv.location,
            invent_reservations: inv.reservations.into_iter().map(Into::into).collect(),
            created_at: inv.created_at,
            updated_at: inv.updated_at,
        }
    }
}

/// Body of `POST /inventory/adjust`: exactly one of `delta` and `set` (`null` is the same as
/// leaving a field out).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdjustStockBody {
    /// The product (one of the caller's).
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: String,
    /// The model to adjust: required for a product with models, refused for one without.
    #[serde(default, rename = "modelId")]
    #[schema(schema_with = super::optional_id_schema)]
    pub model_id: Option<ProductId>,
    /// Units to add (positive) or take away (negative, free units only), a non-zero whole
    /// number from -1000000 to 1000000.
    #[serde(default)]
    #[schema(schema_with = delta_schema)]
    pub delta: Option<Value>,
    /// The free stock to have after it (a stock count), a whole number from 0 to 1000000000.
    #[serde(default)]
    #[schema(schema_with = set_schema)]
    pub set: Option<Value>,
    /// Why, 1 to 200 characters.
    #[schema(schema_with = super::text::<200>)]
    pub reason: String,
}

impl AdjustStockBody {
    /// The product, its model and the change this body asks for; a `400` naming the field for
    /// both or neither of `delta` and `set`, and for a value that is not a whole number of the
    /// field's type (the services check the model, the ranges and the reason).
    pub fn into_change(
        self,
    ) -> Result<(ProductId, Option<ProductId>, StockChange, String), AppError> {
        let product_id = ProductId::parse(&self.product_id)?;
        let change = match (self.delta, self.set) {
            (Some(delta), None) => StockChange::Delta(
                whole(&delta)
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| AppError::invalid("delta", "must be a non-zero whole number"))?,
            ),
            (None, Some(set)) => {
                StockChange::Set(whole(&set).and_then(|n| u64::try_from(n).ok()).ok_or_else(
                    || AppError::invalid("set", "must be a whole number of at least 0"),
                )?)
            }
            (Some(_), Some(_)) => {
                return Err(AppError::invalid(
                    "set",
                    "cannot be given with delta: give exactly one of delta or set",
                ))
            }
            (None, None) => {
                return Err(AppError::invalid(
                    "delta",
                    "is required unless set is given: give exactly one of delta or set",
                ))
            }
        };
        Ok((product_id, self.model_id, change, self.reason))
    }
}

/// A JSON number without a fraction (`2` or `2.0`), within 64 bits either way.
fn whole(value: &Value) -> Option<i128> {
    let Value::Number(n) = value else {
        return None;
    };
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    // 2^64 and more do not fit either type; below, a float without a fraction is whole.
    let f = n.as_f64()?;
    #[allow(clippy::cast_possible_truncation)]
    (f.fract() == 0.0 && f.abs() < 18_446_744_073_709_551_616.0).then_some(f as i128)
}

/// Schema of `delta`: a whole number from -1000000 to 1000000 (not 0, said by the body's
/// schema), or `null`.
fn delta_schema() -> RefOr<Schema> {
    let max = f64::from(MAX_QUANTITY);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(-max))
        .maximum(Some(max))
        .description(Some(
            "Units to add (positive) or take away (negative, free units only): a non-zero whole \
             number from -1000000 to 1000000",
        ))
        .into()
}

/// Schema of `set`: a whole number from 0 to [`MAX_SET_STOCK`], or `null`.
fn set_schema() -> RefOr<Schema> {
    #[allow(clippy::cast_precision_loss)]
    let max = MAX_SET_STOCK as f64;
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(0.0))
        .maximum(Some(max))
        .description(Some(
            "The free stock to have after it (a stock count): a whole number from 0 to 1000000000",
        ))
        .into()
}

/// One recorded adjustment of a product's stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentDto {
    /// The adjustment's id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The model (variant) adjusted; absent for a product without models.
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Units added (positive) or taken away (negative); for a `set`, the difference it made
    /// (0 when the stock was already right).
    pub delta: i64,
    /// The free stock right after it.
    pub stock_after: u64,
    /// Why.
    pub reason: String,
    /// The shop that made it.
    pub by: String,
    /// When it was made.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
}

impl From<StockAdjustment> for AdjustmentDto {
    fn from(a: StockAdjustment) -> Self {
        AdjustmentDto {
            id: a.id.to_string(),
            model_id: a.model_id.map(|m| m.to_string()),
            delta: a.delta,
            stock_after: a.stock_after,
            reason: a.reason,
            by: a.by.to_string(),
            created_at: a.created_at,
        }
    }
}

/// Query of `GET /inventory/{productId}/adjustments`: the page, and for a product with models
/// the model (required for one, refused for one without); any other parameter is a 400.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentsQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// The model whose adjustments to list (32 lowercase hex characters).
    #[serde(rename = "modelId")]
    #[param(rename = "modelId", pattern = "^[0-9a-f]{32}$")]
    pub model_id: Option<String>,
}
