//! Inventory: the add-stock body and the stock JSON.

use chrono::{DateTime, Utc};
use ecom_core::inventory::{Inventory, Reservation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `POST /inventory`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddStockBody {
    /// The product (one of the caller's).
    #[serde(rename = "productId")]
    #[schema(schema_with = super::id_schema)]
    pub product_id: String,
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

/// The stock of one product.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryDto {
    /// The product.
    #[serde(rename = "invent_productId")]
    pub product_id: String,
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
    /// The open reservations only: a placed order's units count in `invent_sold`.
    pub invent_reservations: Vec<ReservationDto>,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
}

impl From<Inventory> for InventoryDto {
    fn from(inv: Inventory) -> Self {
        InventoryDto {
            product_id: inv.product_id.to_string(),
            shop_id: inv.shop_id.to_string(),
            invent_stock: inv.stock,
            invent_reserved: inv.reserved(),
            invent_sold: inv.sold,
            invent_location: inv.location,
            invent_reservations: inv.reservations.into_iter().map(Into::into).collect(),
            created_at: inv.created_at,
            updated_at: inv.updated_at,
        }
    }
}
