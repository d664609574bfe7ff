//! Orders: the status-update body and the order JSON (`order_*` fields).

use super::checkout::{AppliedDiscountDto, TotalsDto};
use chrono::{DateTime, Utc};
use ecom_core::id::{ProductId, ShopId};
use ecom_core::order::{Order, OrderStatus, ShopOrderFilter};
use ecom_core::payment::PaymentStatus;
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
    /// The lines' products (at least one; each must be the shop's line of this order): a
    /// product id names every line of the product (each model), a model id that model's.
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
    /// The model, for a product with models (else absent).
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The model's name (`Red / M`), for a product with models (else absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
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
                model_id: line.model_id.as_ref().map(|m| m.to_string()),
                model_name: line.model_name.clone(),
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
    /// The payment: method, status, amount.
    pub order_payment: PaymentDto,
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
        let order_payment = PaymentDto::of(&order);
        OrderDto {
            id: order.id.to_string(),
            user_id: order.customer_id.to_string(),
            order_checkout: order.totals.into(),
            order_products: parts,
            order_shipping: order.shipping,
            order_payment,
            tracking_number,
            order_status: order.status.into(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// Where an order's payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatusDto {
    /// Not paid yet.
    Pending,
    /// Paid.
    Paid,
    /// No money will come (the provider failed it, or the order was cancelled or expired
    /// unpaid).
    Failed,
    /// The money went back to the customer.
    Refunded,
}

impl From<PaymentStatus> for PaymentStatusDto {
    fn from(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Pending => PaymentStatusDto::Pending,
            PaymentStatus::Paid => PaymentStatusDto::Paid,
            PaymentStatus::Failed => PaymentStatusDto::Failed,
            PaymentStatus::Refunded => PaymentStatusDto::Refunded,
        }
    }
}

impl From<PaymentStatusDto> for PaymentStatus {
    fn from(status: PaymentStatusDto) -> Self {
        match status {
            PaymentStatusDto::Pending => PaymentStatus::Pending,
            PaymentStatusDto::Paid => PaymentStatus::Paid,
            PaymentStatusDto::Failed => PaymentStatus::Failed,
            PaymentStatusDto::Refunded => PaymentStatus::Refunded,
        }
    }
}

/// An order's payment as its customer sees it. Never card or account details.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    /// The method (`cod`, `online`, or one an application registered).
    pub method: String,
    /// Where it stands.
    pub status: PaymentStatusDto,
    /// What the customer pays, in major units.
    #[schema(value_type = f64)]
    pub amount: Value,
    /// ISO 4217 code.
    pub currency: String,
    /// An unpaid online order is cancelled at this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the money arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    /// The provider's reference of the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_ref: Option<String>,
    /// Since when a refund is due (the order was cancelled after it was paid, or the money
    /// came after it was cancelled); `refund_requested` once the provider took the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_due_at: Option<DateTime<Utc>>,
    /// Whether the provider took the refund request (it confirms with a `refund.succeeded`
    /// event, then the status is `refunded`).
    pub refund_requested: bool,
    /// What returns of the order have paid back so far, in major units (a whole refund shows
    /// as status `refunded` instead).
    #[schema(value_type = f64)]
    pub refunded: Value,
    /// What may still be refunded, in major units: what was paid less every refund of a return
    /// due, asked or paid (0 unless paid).
    #[schema(value_type = f64)]
    pub refundable: Value,
}

impl PaymentDto {
    /// The payment of `order`, with what its returns refunded and what stays refundable.
    fn of(order: &Order) -> Self {
        let payment = &order.payment;
        let zero = ecom_core::money::Money::zero(payment.amount.currency);
        let refunded = ecom_core::returns::ledger::refunded(order).unwrap_or(zero);
        let refundable = ecom_core::returns::ledger::refundable(order).unwrap_or(zero);
        PaymentDto {
            refunded: refunded.major_json(),
            refundable: refundable.major_json(),
            method: payment.method.clone(),
            status: payment.status.into(),
            amount: payment.amount.major_json(),
            currency: payment.amount.currency.code().to_owned(),
            expires_at: payment.expires_at,
            paid_at: payment.paid_at,
            provider_ref: payment.provider_ref.clone(),
            refund_due_at: payment.refund_due_at,
            refund_requested: payment.refund_requested,
        }
    }
}

/// How a shop sees an order's payment: the method and where it stands, never the details.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopPaymentDto {
    /// The method the customer chose.
    pub method: String,
    /// Where it stands (a shop ships an `online` order once it is `paid`).
    pub status: PaymentStatusDto,
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
        Ok(ShopOrderDto {
            id: order.id.to_string(),
            user_id: order.customer_id.to_string(),
            order_subtotal: order.subtotal_of(shop)?.into(),
            order_shipping: order.shipping.clone(),
            order_payment: ShopPaymentDto {
                method: order.payment.method.clone(),
                status: order.payment.status.into(),
            },
            order_products: vec![part],
            order_status: OrderStatus::roll_up(order.lines_of(shop).map(|l| l.status)).into(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        })
    }
}

/// Query of `GET /shop/orders`: filters and page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShopOrdersQuery {
    /// Only orders with at least one of the shop's lines in this status.
    pub status: Option<OrderStatusDto>,
    /// Only orders whose payment is in this status.
    pub payment_status: Option<PaymentStatusDto>,
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
}

impl ShopOrdersQuery {
    /// The page asked for.
    pub fn page(&self) -> Result<ecom_core::page::Page, crate::error::AppError> {
        super::PageQuery {
            limit: self.limit,
            page: self.page,
        }
        .page()
    }

    /// The filter.
    pub fn filter(&self) -> ShopOrderFilter {
        ShopOrderFilter {
            line_status: self.status.map(Into::into),
            payment_status: self.payment_status.map(Into::into),
        }
    }
}

/// Orders as the API shows them.
pub fn orders(list: Vec<Order>) -> Vec<OrderDto> {
    list.into_iter().map(OrderDto::from).collect()
}
