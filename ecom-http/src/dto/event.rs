//! Events as clients see them (the pull API `GET /events`, webhook bodies): one shape, and
//! each audience's view of the aggregate's state. A shop sees what `GET /shop/orders/{id}`
//! shows of an order (its lines, its subtotal, the payment's method and status, never another
//! shop's lines nor payment details); the operator sees the whole order as its customer does.

use super::inventory::AdjustmentDto;
use super::order::{OrderDto, ShopOrderDto};
use super::product::ProductDto;
use chrono::{DateTime, Utc};
use ecom_core::event::{AggregateKind, CancelledBy, Cursor, EventKind, Logged};
use ecom_core::id::ShopId;
use ecom_core::inventory::StockAdjustment;
use ecom_core::order::Order;
use ecom_core::product::Product;
use ecom_core::Error;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// Who an event is shown to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Audience {
    /// A shop: its own view of the aggregate.
    Shop(ShopId),
    /// The operator (an API key with permission `2222`, a platform webhook endpoint): every
    /// shop's events, orders as their customers see them.
    Operator,
}

/// Schema of an event type: one of the names of [`EventKind::ALL`].
pub fn event_type_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(EventKind::ALL.iter().map(|k| k.name())))
        .description(Some("The event's type"))
        .into()
}

/// What an event happened to, at which version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AggregateDto {
    /// `order`, `product`, `stock` (a stock record: a product's or a model's) or `discount`.
    #[schema(value_type = String, example = "order")]
    pub kind: AggregateKind,
    /// Its id.
    pub id: String,
    /// Its version after the change: one aggregate's events come in this order.
    pub version: u64,
}

/// The lines of one shop an `order.line_status_changed` moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinesMovedDto {
    /// Each line moved: its stock record (the model's id, or the product's) and new status.
    pub lines: Vec<LineMovedDto>,
    /// The shop's tracking number after the change, if it set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// One line an `order.line_status_changed` moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineMovedDto {
    /// The line's stock record: the model's id, or the product's.
    pub stock_id: String,
    /// Its new status: `confirmed`, `shipped`, `delivered` or `cancelled`.
    pub status: String,
}

/// A product's level of free stock (`stock.low`, `stock.out`, `stock.back_in_stock`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockLevelDto {
    /// The product.
    pub product_id: String,
    /// Its free stock (summed over its models) when the level flipped.
    pub stock: u64,
    /// Its low-stock threshold.
    pub threshold: u32,
}

/// A discount code whose uses are all taken (`discount.exhausted`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExhaustedCodeDto {
    /// The code's id.
    pub discount_id: String,
    /// The code.
    pub code: String,
    /// Its number of uses, all taken.
    pub max_uses: u32,
}

/// The aggregate's state after the change, in the audience's view: an order (the shop's view,
/// or the customer's for the operator) for `order.*`, a product for `product.*`, a stock level
/// for `stock.low`, `stock.out` and `stock.back_in_stock`, an adjustment for `stock.adjusted`,
/// a code for `discount.exhausted`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventDataDto {
    /// An order as a shop sees it.
    ShopOrder(Box<ShopOrderDto>),
    /// An order as its customer sees it (the operator's view).
    Order(Box<OrderDto>),
    /// A product.
    Product(Box<ProductDto>),
    /// A product's level of free stock.
    StockLevel(StockLevelDto),
    /// A recorded stock adjustment.
    Adjustment(AdjustmentDto),
    /// A code whose uses are all taken.
    Code(ExhaustedCodeDto),
    /// A return (of `return.*` and `refund.*` events).
    Return(Box<crate::dto::returns::ReturnDto>),
}

/// One event, as the pull API lists it and a webhook posts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Unique and stable: the same event always has this id (a webhook's `webhook-id`);
    /// drop a repeat of an id already handled.
    pub id: String,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(schema_with = event_type_schema)]
    pub kind: String,
    /// Its place in the log: pass the last one handled as `after` to read on.
    pub cursor: String,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// What it happened to.
    pub aggregate: AggregateDto,
    /// The shops it concerns (a shop is shown only itself).
    pub shop_ids: Vec<String>,
    /// For `order.cancelled`: `customer`, `shop`, `unpaid_expiry`, `payment_failure` or
    /// `refund`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub cancelled_by: Option<CancelledBy>,
    /// For `order.line_status_changed`: the lines moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<LinesMovedDto>,
    /// The aggregate after the change, in the audience's view.
    pub data: EventDataDto,
}

/// Reads the stored state of an event as `T`.
fn state<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T, Error> {
    T::deserialize(value)
        .map_err(|e| Error::backend(format!("an event's {what} is unreadable: {e}")))
}

impl EventDto {
    /// `logged` as `audience` sees it. A shop must be among the event's shops (the callers
    /// list only those): else [`Error::NotFound`].
    pub fn view(logged: &Logged, audience: &Audience) -> Result<Self, Error> {
        let event = &logged.event;
        let shop_ids = match audience {
            Audience::Shop(shop) if event.shops.contains(shop) => vec![shop.to_string()],
            Audience::Shop(_) => return Err(Error::not_found("event")),
            Audience::Operator => event.shops.iter().map(ToString::to_string).collect(),
        };
        let data = match event.kind {
            EventKind::OrderPlaced
            | EventKind::OrderPaid
            | EventKind::OrderPaymentFailed
            | EventKind::OrderCancelled
            | EventKind::OrderLineStatusChanged
            | EventKind::OrderRefundRequested
            | EventKind::OrderRefunded => {
                let order: Order = state(&event.state, "order")?;
                match audience {
                    Audience::Shop(shop) => {
                        EventDataDto::ShopOrder(Box::new(ShopOrderDto::view(&order, shop)?))
                    }
                    Audience::Operator => EventDataDto::Order(Box::new(order.into())),
                }
            }
            EventKind::ProductPublished
            | EventKind::ProductUnpublished
            | EventKind::ProductUpdated => {
                let product: Product = state(&event.state, "product")?;
                EventDataDto::Product(Box::new(product.into()))
            }
            EventKind::StockLow | EventKind::StockOut | EventKind::StockBackInStock => {
                EventDataDto::StockLevel(state(&event.state, "stock level")?)
            }
            EventKind::StockAdjusted => {
                let adjustment: StockAdjustment = state(&event.state, "adjustment")?;
                EventDataDto::Adjustment(adjustment.into())
            }
            EventKind::DiscountExhausted => EventDataDto::Code(state(&event.state, "code")?),
            EventKind::ReturnRequested
            | EventKind::ReturnAccepted
            | EventKind::ReturnRejected
            | EventKind::ReturnReceived
            | EventKind::ReturnClosed
            | EventKind::RefundSucceeded
            | EventKind::RefundFailed => {
                let ret: ecom_core::returns::OrderReturn = state(&event.state, "return")?;
                EventDataDto::Return(Box::new((&ret).into()))
            }
        };
        Ok(EventDto {
            id: event.id.to_string(),
            kind: event.kind.name().to_owned(),
            cursor: logged.cursor.0.to_string(),
            occurred_at: event.at,
            aggregate: AggregateDto {
                kind: event.aggregate.kind,
                id: event.aggregate.id.clone(),
                version: event.aggregate.version,
            },
            shop_ids,
            cancelled_by: event.cancelled_by,
            lines: event.lines.as_ref().map(|moved| LinesMovedDto {
                lines: moved
                    .lines
                    .iter()
                    .map(|(stock_id, status)| LineMovedDto {
                        stock_id: stock_id.to_string(),
                        status: status.clone(),
                    })
                    .collect(),
                tracking_number: moved.tracking_number.clone(),
            }),
            data,
        })
    }
}

/// Query of `GET /events`: where to start, how many, which types; any other parameter is a
/// 400.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The cursor of the last event handled (default `0`: from the oldest kept).
    #[param(pattern = "^[0-9]{1,19}$")]
    pub after: Option<String>,
    /// Events to return, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only these types, comma-separated (e.g. `order.placed,order.paid`).
    #[serde(rename = "type")]
    pub kinds: Option<String>,
}

impl EventsQuery {
    /// Events per read unless `limit` says otherwise.
    pub const DEFAULT_LIMIT: u32 = 100;

    /// The cursor to read after (errors name `after`).
    pub fn after(&self) -> Result<Cursor, Error> {
        match &self.after {
            None => Ok(Cursor(0)),
            Some(text) => text
                .parse::<u64>()
                .map(Cursor)
                .map_err(|_| Error::validation("after", "must be a cursor (a whole number)")),
        }
    }

    /// The types asked for (empty: all; errors name `type`).
    pub fn kinds(&self) -> Result<Vec<EventKind>, Error> {
        let Some(list) = &self.kinds else {
            return Ok(Vec::new());
        };
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kind = EventKind::parse(name, "type")?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }
}
