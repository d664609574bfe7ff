//! What an event is: a change that happened to one aggregate (an order, a product, a stock
//! record, a discount code), with its id, type, time, the aggregate's version, the shops it
//! concerns and a payload.

use crate::clock::Timestamp;
use crate::id::{EventId, ProductId, ShopId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The types of events, by the name clients see (`order.placed`, ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum EventKind {
    /// An order was placed.
    #[serde(rename = "order.placed")]
    OrderPlaced,
    /// An order's payment arrived.
    #[serde(rename = "order.paid")]
    OrderPaid,
    /// An order's payment failed (the order is cancelled with it).
    #[serde(rename = "order.payment_failed")]
    OrderPaymentFailed,
    /// An order was cancelled as a whole.
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    /// Some of a shop's lines of an order moved (confirmed, shipped, delivered, cancelled), or
    /// the shop set its tracking number.
    #[serde(rename = "order.line_status_changed")]
    OrderLineStatusChanged,
    /// A refund of an order became due and was asked of its provider.
    #[serde(rename = "order.refund_requested")]
    OrderRefundRequested,
    /// An order's money went back.
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    /// A product's free stock fell to or below its low-stock threshold.
    #[serde(rename = "stock.low")]
    StockLow,
    /// A product has no free stock left.
    #[serde(rename = "stock.out")]
    StockOut,
    /// A product that had no free stock has some again.
    #[serde(rename = "stock.back_in_stock")]
    StockBackInStock,
    /// A shop adjusted a stock record (a recorded adjustment).
    #[serde(rename = "stock.adjusted")]
    StockAdjusted,
    /// A product was published.
    #[serde(rename = "product.published")]
    ProductPublished,
    /// A product was taken back to draft.
    #[serde(rename = "product.unpublished")]
    ProductUnpublished,
    /// A product's details changed.
    #[serde(rename = "product.updated")]
    ProductUpdated,
    /// A discount code's uses are all taken.
    #[serde(rename = "discount.exhausted")]
    DiscountExhausted,
    /// A customer asked for delivered units back (payload: the return).
    #[serde(rename = "return.requested")]
    ReturnRequested,
    /// A shop (or the sweep, for an unanswered request) accepted a return.
    #[serde(rename = "return.accepted")]
    ReturnAccepted,
    /// A shop refused a return.
    #[serde(rename = "return.rejected")]
    ReturnRejected,
    /// A shop received a return's units; its refund is due.
    #[serde(rename = "return.received")]
    ReturnReceived,
    /// A return ended without a refund (rejected for good, never shipped back) or was cancelled by its customer.
    #[serde(rename = "return.closed")]
    ReturnClosed,
    /// A return's refund was paid.
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    /// A return's refund failed at the provider (it is asked again later).
    #[serde(rename = "refund.failed")]
    RefundFailed,
}

impl EventKind {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [EventKind; 22] = [
        EventKind::OrderPlaced,
        EventKind::OrderPaid,
        EventKind::OrderPaymentFailed,
        EventKind::OrderCancelled,
        EventKind::OrderLineStatusChanged,
        EventKind::OrderRefundRequested,
        EventKind::OrderRefunded,
        EventKind::StockLow,
        EventKind::StockOut,
        EventKind::StockBackInStock,
        EventKind::StockAdjusted,
        EventKind::ProductPublished,
        EventKind::ProductUnpublished,
        EventKind::ProductUpdated,
        EventKind::DiscountExhausted,
        EventKind::ReturnRequested,
        EventKind::ReturnAccepted,
        EventKind::ReturnRejected,
        EventKind::ReturnReceived,
        EventKind::ReturnClosed,
        EventKind::RefundSucceeded,
        EventKind::RefundFailed,
    ];

    /// The name clients see (`order.placed`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::OrderPlaced => "order.placed",
            EventKind::OrderPaid => "order.paid",
            EventKind::OrderPaymentFailed => "order.payment_failed",
            EventKind::OrderCancelled => "order.cancelled",
            EventKind::OrderLineStatusChanged => "order.line_status_changed",
            EventKind::OrderRefundRequested => "order.refund_requested",
            EventKind::OrderRefunded => "order.refunded",
            EventKind::StockLow => "stock.low",
            EventKind::StockOut => "stock.out",
            EventKind::StockBackInStock => "stock.back_in_stock",
            EventKind::StockAdjusted => "stock.adjusted",
            EventKind::ProductPublished => "product.published",
            EventKind::ProductUnpublished => "product.unpublished",
            EventKind::ProductUpdated => "product.updated",
            EventKind::DiscountExhausted => "discount.exhausted",
            EventKind::ReturnRequested => "return.requested",
            EventKind::ReturnAccepted => "return.accepted",
            EventKind::ReturnRejected => "return.rejected",
            EventKind::ReturnReceived => "return.received",
            EventKind::ReturnClosed => "return.closed",
            EventKind::RefundSucceeded => "refund.succeeded",
            EventKind::RefundFailed => "refund.failed",
        }
    }

    /// Parses a name (`order.placed`); errors name `field`.
    pub fn parse(name: &str, field: &str) -> crate::error::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                crate::error::Error::validation(field, format!("{name:?} is not an event type"))
            })
    }
}

/// The kind of thing an event happened to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateKind {
    /// An order.
    Order,
    /// A product: its details (`product.*`) and its level of free stock (`stock.low`,
    /// `stock.out`, `stock.back_in_stock`, at the product's version when the level flipped).
    Product,
    /// A stock record (a product's, or a model's): its adjustments (`stock.adjusted`, versioned
    /// by the record's count of adjustments).
    Stock,
    /// A discount code.
    Discount,
}

/// The thing an event happened to, at the version the change made.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct Aggregate {
    /// Its kind.
    pub kind: AggregateKind,
    /// Its id.
    pub id: String,
    /// Its version after the change; the events of one aggregate are delivered in this order
    /// (events of one change share it, in the order they were made).
    pub version: u64,
}

/// Who cancelled an order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    /// The customer.
    Customer,
    /// A shop (its lines; the whole order when they were all of its lines).
    Shop,
    /// The server: an online order left unpaid past its timeout.
    UnpaidExpiry,
    /// The payment provider reported a failure.
    PaymentFailure,
    /// The payment provider refunded a live order.
    Refund,
}

/// The lines of one shop that an `order.line_status_changed` moved.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LinesMoved {
    /// The shop.
    pub shop_id: ShopId,
    /// Each line moved: its stock record (the model's, or the product's) and its new status
    /// (`confirmed`, `shipped`, `delivered`, `cancelled`).
    pub lines: Vec<(ProductId, String)>,
    /// The shop's tracking number after the change, if it set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// One event.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Event {
    /// Unique; a receiver drops a repeat of an id it has seen.
    pub id: EventId,
    /// Its type.
    pub kind: EventKind,
    /// When the change happened.
    pub at: Timestamp,
    /// What it happened to, and at which version.
    pub aggregate: Aggregate,
    /// The shops it concerns (each sees its own view).
    pub shops: Vec<ShopId>,
    /// The aggregate's state after the change, as stored: the order, the product, the
    /// adjustment, `{product_id, stock, threshold}` of a stock level, `{discount_id, code,
    /// max_uses}` of a code. Each audience is shown its own view of it.
    pub state: Value,
    /// For `order.cancelled`: who cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<CancelledBy>,
    /// For `order.line_status_changed`: whose lines moved, and to what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<LinesMoved>,
}

impl Event {
    /// An event of `kind` on `aggregate` at `at`, concerning `shops`, with the aggregate's
    /// `state` (anything serializable; a state that cannot be serialized is stored as null).
    pub fn new(
        kind: EventKind,
        at: Timestamp,
        aggregate: Aggregate,
        shops: Vec<ShopId>,
        state: &impl Serialize,
    ) -> Self {
        Event {
            id: EventId::generate(),
            kind,
            at,
            aggregate,
            shops,
            state: serde_json::to_value(state).unwrap_or(Value::Null),
            cancelled_by: None,
            lines: None,
        }
    }
}

/// A position in the log of events: every event stored gets the next one. A consumer that
/// read up to a cursor asks for the events after it.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize,
)]
pub struct Cursor(pub u64);

/// An event as the log holds it: its position and the event.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Logged {
    /// Its position in the log.
    pub cursor: Cursor,
    /// The event.
    pub event: Event,
}

/// Which events of the log to list ([`EventRepo::list`](crate::event::EventRepo::list)).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EventFilter {
    /// Only events concerning this shop (none: every shop's).
    pub shop: Option<ShopId>,
    /// Only events of these types (empty: every type).
    pub kinds: Vec<EventKind>,
}

impl EventFilter {
    /// Whether `event` passes.
    pub fn matches(&self, event: &Event) -> bool {
        self.shop.as_ref().is_none_or(|s| event.shops.contains(s))
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind))
    }
}
