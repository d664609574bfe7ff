//! Returns after delivery: a customer asks for delivered units of one shop back
//! ([`OrderReturn`]), the shop accepts, rejects or receives them, a rejection may be disputed
//! to the operator, and an accepted return makes a refund due of exactly what the units cost
//! ([`value`]). Where a return stands and the moves it may make are one table
//! ([`ReturnStatus`]); what the order's lines still allow is [`ledger`]; the time limits are
//! the [`ReturnPolicy`].
//!
//! A return lives inside its order (as its payment does), so every move of a return is one
//! conditional write of the order: two moves racing have one winner, and the units asked back
//! and the money refunded are checked against the order in the same write.
//! The rules of asking and deciding are the
//! [`ReturnService`](crate::service::ReturnService)'s.

pub mod ledger;
mod policy;
mod status;
pub mod value;

pub use policy::ReturnPolicy;
pub use status::ReturnStatus;

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{AdjustmentId, CustomerId, OrderId, ProductId, ReturnId, ShopId};
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// How long after a receipt (or a failed try) the sweep takes back received units that are
/// still due to leave `sold`.
pub const RESTOCK_RETRY: chrono::Duration = chrono::Duration::minutes(1);

/// Most client keys of moves one return remembers (the newest).
pub const MAX_MOVE_KEYS: usize = 10;

/// Most returns one order keeps (every request, whatever became of it).
pub const MAX_RETURNS_PER_ORDER: usize = 20;

/// Why the customer asks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    /// Arrived broken.
    Damaged,
    /// Not what was ordered.
    WrongItem,
    /// Not as the listing said.
    NotAsDescribed,
    /// Something is missing from it.
    MissingParts,
    /// The customer no longer wants it.
    ChangedMind,
    /// Anything else (say what in the note).
    Other,
}

/// How an accepted return is settled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnMode {
    /// The customer sends the units back; the refund is due for the units received.
    ReturnAndRefund,
    /// The customer keeps the units; the refund is due at once.
    RefundOnly,
}

/// The state of a returned unit as the shop received it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Fit to sell again: it goes back to stock.
    Resellable,
    /// Not fit to sell: recorded, kept out of stock.
    Damaged,
}

/// One line of a return: units of one line of the order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The product.
    pub product_id: ProductId,
    /// The model, for a line of a product with models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<ProductId>,
    /// Units asked back.
    pub quantity: u32,
    /// Units received fit to sell (back in stock).
    #[serde(default)]
    pub resellable: u32,
    /// Units received damaged (kept out of stock).
    #[serde(default)]
    pub damaged: u32,
    /// The stock adjustment that takes the received units out of `sold` (the resellable ones
    /// back to free stock, the damaged ones aside): set with the receipt, applied after it
    /// (idempotent by this id), cleared once applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restock: Option<AdjustmentId>,
}

impl ReturnLine {
    /// Units received, in any condition.
    pub fn received(&self) -> u32 {
        self.resellable.saturating_add(self.damaged)
    }
}

/// Where the money of a return stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Due, not yet asked of the provider (or asked and failed: asked again later).
    Due,
    /// The provider took the request; it confirms with a callback.
    Requested,
    /// Paid back.
    Succeeded,
}

/// The refund of a return.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReturnRefund {
    /// What goes back: the units' worth ([`value`]), with the shipping fee when it is the
    /// last of the order's units.
    pub amount: Money,
    /// Of which the shipping fee.
    pub shipping: Money,
    /// Where it stands.
    pub status: RefundStatus,
    /// Units refunded per line of the return (same order as its lines).
    pub units: Vec<u32>,
    /// When it became due.
    pub due_at: Timestamp,
    /// Requests the provider refused or failed so far (each asked again later, backing off).
    #[serde(default)]
    pub attempts: u32,
}

impl ReturnRefund {
    /// After a failed request at `now` (the `attempts`-th): when to ask again, 1, 2, 4 ...
    /// minutes later, at most an hour.
    pub fn retry_at(&self, now: Timestamp) -> Timestamp {
        let minutes = (1i64 << self.attempts.saturating_sub(1).min(6)).min(60);
        now + chrono::Duration::minutes(minutes)
    }
}

/// A return of delivered units of one shop's lines of an order.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct OrderReturn {
    /// The id (also the idempotency reference of its refund).
    pub id: ReturnId,
    /// The order it returns lines of.
    pub order_id: OrderId,
    /// The shop whose lines come back.
    pub shop_id: ShopId,
    /// The customer who asked (the order's).
    pub customer_id: CustomerId,
    /// The units asked back, at most one entry per order line.
    pub lines: Vec<ReturnLine>,
    /// Why.
    pub reason: ReturnReason,
    /// The customer's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Addresses of photos or videos the customer offers as evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The client's key for the request: asking again with it answers the same return.
    pub request_key: String,
    /// The client keys of the moves it took (the newest [`MAX_MOVE_KEYS`]): a move retried
    /// with one of them answers the return as it stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Where it stands.
    pub status: ReturnStatus,
    /// How the shop (or the sweep) accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ReturnMode>,
    /// Why the shop refused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<String>,
    /// Whether the customer disputed the rejection (once only).
    #[serde(default)]
    pub disputed: bool,
    /// The operator's decision of a dispute, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Its refund, once one is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<ReturnRefund>,
    /// When the sweep acts on it by itself: accepts an unanswered request, closes an accepted
    /// return never shipped back or a rejection never disputed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// When it was asked.
    pub created_at: Timestamp,
    /// When it last moved.
    pub updated_at: Timestamp,
}

impl OrderReturn {
    /// Whether received resellable units still wait to go back to stock.
    pub fn restock_due(&self) -> bool {
        self.lines.iter().any(|l| l.restock.is_some())
    }

    /// Moves to `next` at `now` if the table allows it, with the sweep's next time `due` (see
    /// [`Self::set_due`]).
    pub fn become_(
        &mut self,
        next: ReturnStatus,
        now: Timestamp,
        due: Option<Timestamp>,
    ) -> Result<()> {
        self.status.check_move(next)?;
        self.status = next;
        self.updated_at = now;
        self.set_due(due, now);
        Ok(())
    }

    /// Sets when the sweep acts on it next: `due`, or sooner while received units still wait
    /// to leave `sold` ([`RESTOCK_RETRY`] after `now`), so nothing it owes is ever left
    /// without a time.
    pub fn set_due(&mut self, due: Option<Timestamp>, now: Timestamp) {
        let restock = self.restock_due().then(|| now + RESTOCK_RETRY);
        self.due_at = match (due, restock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Which returns to list ([`OrderRepo::list_with_returns`](crate::order::OrderRepo::list_with_returns)).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ReturnFilter {
    /// Only the returns of this customer.
    pub customer: Option<CustomerId>,
    /// Only the returns of this shop.
    pub shop: Option<ShopId>,
    /// Only the returns in this status.
    pub status: Option<ReturnStatus>,
}

impl ReturnFilter {
    /// Whether `ret` passes.
    pub fn matches(&self, ret: &OrderReturn) -> bool {
        self.customer.as_ref().is_none_or(|c| &ret.customer_id == c)
            && self.shop.as_ref().is_none_or(|s| &ret.shop_id == s)
            && self.status.is_none_or(|s| ret.status == s)
    }
}
