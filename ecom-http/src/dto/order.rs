//! Orders: the status-update body and the order JSON (`order_*` fields).

use super::checkout::{AppliedDiscountDto, TotalsDto};
use chrono::{DateTime, Utc};
use ecom_core::id::{ProductId, ShopId};
use ecom_core::order::{Order, OrderStatus};
use ecom_core::service::{LineStatusChange, StatusUpdate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Status of an order line and, rolled up, of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatusDto {
    /// Placed, not yet confirmed by the shop.
    Pending,
    /// Confirmed by the shop.
    Confirmed,
    /// Handed to the carrier.
    Shipped,
    /// Received by the customer.
    Delivered,
    /// Cancelled; its stock and code uses were returned.
    Cancelled,
}

impl From<OrderStatus> for OrderStatusDto {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => OrderStatusDto::Pending,
            OrderStatus::Confirmed => OrderStatusDto::Confirmed,
            OrderStatus::Shipped => OrderStatusDto::Shipped,
            OrderStatus::Delivered => OrderStatusDto::Delivered,
            OrderStatus::Cancelled => OrderStatusDto::Cancelled,
        }
    }
}

impl From<OrderStatusDto> for OrderStatus {
    fn from(status: OrderStatusDto) -> Self {
        match status {
            OrderStatusDto::Pending => OrderStatus::Pending,
            OrderStatusDto::Confirmed => OrderStatus::Confirmed,
            OrderStatusDto::Shipped => OrderStatus::Shipped,
            OrderStatusDto::Delivered => OrderStatus::Delivered,
            OrderStatusDto::Cancelled => OrderStatus::Cancelled,
        }
    }
}

/// A status change for some of the calling shop's lines.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LineStatusBody {
    /// The lines' products (at least one; each must be the shop's line of this order).
    #[serde(rename = "productIds")]
    #[schema(schema_with = product_ids_schema)]
    pub product_ids: Vec<ProductId>,
    /// The new status: pending -> confirmed -> shipped -> delivered, or pending/confirmed ->
    /// cancelled (which returns the lines' stock).
    pub status: OrderStatusDto,
}

/// Schema of `productIds`: at least one id.
fn product_ids_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(super::id_schema())
        .min_items(Some(1))
        .into()
}

/// Body of `PATCH /orders/{orderId}/status`. At least one of the fields must say something.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// Changes of the shop's own lines, applied in order.
    #[serde(rename = "orderProducts", default)]
    pub order_products: Vec<LineStatusBody>,
    /// A note for the customer, up to 1000 characters.
    #[serde(default)]
    #[schema(schema_with = super::nullable_text::<1000>)]
    pub note: Option<String>,
    /// The carrier's tracking number, 1 to 100 characters.
    #[serde(rename = "trackingNumber", default)]
    #[schema(schema_with = super::nullable_required_text::<100>)]
    pub tracking_number: Option<String>,
}

impl From<StatusBody> for StatusUpdate {
    fn from(body: StatusBody) -> Self {
        StatusUpdate {
            lines: body
                .order_products
                .into_iter()
                .map(|line| LineStatusChange {
                    product_ids: line.product_ids,
                    status: line.status.into(),
                })
                .collect(),
            note: body.note,
            tracking_number: body.tracking_number,
        }
    }
}

/// One line of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineDto {
    /// The product.
    #[serde(rename = "productId")]
    pub product_id: String,
    /// Its name at checkout.
    pub name: String,
    /// Units bought.
    pub quantity: u32,
    /// Unit price at checkout, in major units.
    #[schema(value_type = f64)]
    pub price: Value,
    /// The line's own status.
    pub status: OrderStatusDto,
}

/// One shop's part of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderShopDto {
    /// The shop.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// The shop's code applied to the order, if any.
    pub shop_discounts: Vec<AppliedDiscountDto>,
    /// The shop's lines.
    pub item_products: Vec<OrderLineDto>,
    /// The shop's carrier tracking number, once it set one.
    #[serde(rename = "trackingNumber")]
    pub tracking_number: Option<String>,
    /// The shop's latest note, if any.
    pub note: Option<String>,
}

impl OrderShopDto {
    /// The part of `shop` in `order`; `None` if it has no line there.
    fn of(order: &Order, shop: &ShopId) -> Option<Self> {
        let lines: Vec<OrderLineDto> = order
            .lines_of(shop)
            .map(|line| OrderLineDto {
                product_id: line.product_id.to_string(),
                name: line.name.clone(),
                quantity: line.quantity,
                price: line.unit_price.major_json(),
                status: line.status.into(),
            })
            .collect();
        if lines.is_empty() {
            return None;
        }
        let own = order.fulfilment_of(shop);
        Some(OrderShopDto {
            shop_id: shop.to_string(),
            shop_discounts: order.discounts_of(shop).map(Into::into).collect(),
            item_products: lines,
            tracking_number: own.and_then(|f| f.tracking_number.clone()),
            note: own.and_then(|f| f.note.clone()),
        })
    }
}

/// An order as its customer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    /// The id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The buyer.
    #[serde(rename = "order_userId")]
    pub user_id: String,
    /// Totals, in major units.
    pub order_checkout: TotalsDto,
    /// The shipping address as sent.
    #[schema(value_type = Object)]
    pub order_shipping: Value,
    /// The payment details as sent.
    #[schema(value_type = Object)]
    pub order_payment: Value,
    /// The lines, grouped by shop in the order the shops first appear; each shop's entry
    /// carries its own tracking number and note.
    pub order_products: Vec<OrderShopDto>,
    /// The tracking number of an order from one shop, once the shop set it (`null` for an
    /// order from several shops: each entry of `order_products` has its own).
    #[serde(rename = "order_trackingNumber")]
    pub tracking_number: Option<String>,
    /// Rolled up from the lines.
    pub order_status: OrderStatusDto,
    /// When it was placed.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderDto {
    fn from(order: Order) -> Self {
        let mut shops: Vec<&ShopId> = Vec::new();
        for line in &order.lines {
            if !shops.contains(&&line.shop_id) {
                shops.push(&line.shop_id);
            }
        }
        let parts: Vec<OrderShopDto> = shops
            .iter()
            .filter_map(|shop| OrderShopDto::of(&order, shop))
            .collect();
        let tracking_number = match parts.as_slice() {
            [only] => only.tracking_number.clone(),
            _ => None,
        };
        OrderDto {
            id: order.id.to_string(),
            user_id: order.customer_id.to_string(),
            order_checkout: order.totals.into(),
            order_products: parts,
            order_shipping: order.shipping,
            order_payment: order.payment,
            tracking_number,
            order_status: order.status.into(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// How a shop sees its payment: the method only, never the details.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopPaymentDto {
    /// The method the customer chose (`cod` when none was named).
    pub method: String,
}

/// An order as one of its shops sees it: only the shop's own lines, discount, subtotal,
/// tracking number and note, the shipping address and the payment method; never another
/// shop's part, never payment details.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopOrderDto {
    /// The id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The buyer.
    #[serde(rename = "order_userId")]
    pub user_id: String,
    /// The shop's part, in major units: its lines, its discount, no shipping fee.
    pub order_subtotal: TotalsDto,
    /// Where to ship.
    #[schema(value_type = Object)]
    pub order_shipping: Value,
    /// The payment method.
    pub order_payment: ShopPaymentDto,
    /// The shop's own entry only.
    pub order_products: Vec<OrderShopDto>,
    /// Rolled up from the shop's lines.
    pub order_status: OrderStatusDto,
    /// When it was placed.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
}

impl ShopOrderDto {
    /// `order` as `shop` sees it.
    pub fn view(order: &Order, shop: &ShopId) -> Result<Self, ecom_core::Error> {
        let part =
            OrderShopDto::of(order, shop).ok_or_else(|| ecom_core::Error::not_found("order"))?;
        let method = order.payment["method"].as_str().unwrap_or("cod").to_owned();
        Ok(ShopOrderDto {
            id: order.id.to_string(),
            user_id: order.customer_id.to_string(),
            order_subtotal: order.subtotal_of(shop)?.into(),
            order_shipping: order.shipping.clone(),
            order_payment: ShopPaymentDto { method },
            order_products: vec![part],
            order_status: OrderStatus::roll_up(order.lines_of(shop).map(|l| l.status)).into(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        })
    }
}

/// Orders as the API shows them.
pub fn orders(list: Vec<Order>) -> Vec<OrderDto> {
    list.into_iter().map(OrderDto::from).collect()
}
