//! Checkout records: the idempotency and recovery log of the checkout saga, and its port.
//!
//! A record is written before any stock moves, holding the whole order the checkout will create
//! (its id fixed in advance). Its state only moves forward:
//!
//! ```text
//! Started ──> Committing ──> Completed ──(order cancelled: handled on the order)
//!    │
//!    └──> RollingBack ──> Failed
//! ```
//!
//! `Started`: stock is being reserved and discounts redeemed (reservation and redemption ids are
//! the checkout id, so every step is idempotent). `Committing`: everything is held; the order is
//! inserted next — from here the checkout only rolls forward. `RollingBack`: everything held is
//! being returned — from here it only rolls back. Who moves a record out of `Started` decides its
//! fate with one compare-and-set, so the saga and a recovery running at the same time agree.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{CheckoutId, CustomerId};
use crate::order::Order;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Where a checkout stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// Reserving and redeeming.
    Started,
    /// Everything held; the order is being inserted.
    Committing,
    /// The order exists. Terminal.
    Completed,
    /// Returning what was held.
    RollingBack,
    /// Nothing is held, no order exists. Terminal.
    Failed,
}

impl CheckoutState {
    /// True for `Completed` and `Failed`.
    pub fn is_terminal(self) -> bool {
        matches!(self, CheckoutState::Completed | CheckoutState::Failed)
    }
}

/// Why a checkout failed, kept so a repeat of the request gets the same answer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckoutFailure {
    /// Not enough stock for a product.
    InsufficientStock {
        /// The product.
        product_id: String,
    },
    /// A discount could not be redeemed.
    DiscountNotApplicable {
        /// Why.
        message: String,
    },
    /// A transient problem (busy lock, unreachable backend, abandoned checkout); a repeat with
    /// the same idempotency key tries again.
    Retryable {
        /// What happened.
        message: String,
    },
    /// Anything else.
    Other {
        /// What happened.
        message: String,
    },
}

impl CheckoutFailure {
    /// The failure an error stands for.
    pub fn from_error(err: &Error) -> Self {
        match err {
            Error::InsufficientStock { product_id } => CheckoutFailure::InsufficientStock {
                product_id: product_id.clone(),
            },
            Error::DiscountNotApplicable(message) => CheckoutFailure::DiscountNotApplicable {
                message: message.clone(),
            },
            e if e.is_retryable() => CheckoutFailure::Retryable {
                message: e.to_string(),
            },
            e => CheckoutFailure::Other {
                message: e.to_string(),
            },
        }
    }

    /// The error to answer a repeat with.
    pub fn to_error(&self) -> Error {
        match self {
            CheckoutFailure::InsufficientStock { product_id } => Error::InsufficientStock {
                product_id: product_id.clone(),
            },
            CheckoutFailure::DiscountNotApplicable { message } => {
                Error::DiscountNotApplicable(message.clone())
            }
            CheckoutFailure::Retryable { message } => Error::Unavailable(message.clone()),
            CheckoutFailure::Other { message } => Error::Conflict(message.clone()),
        }
    }

    /// Whether a repeat may try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CheckoutFailure::Retryable { .. })
    }
}

/// The saga's record of one checkout.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct CheckoutRecord {
    /// The id; also the reservation and redemption id of everything it holds.
    pub id: CheckoutId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The client's `Idempotency-Key` (or a generated one); unique per customer.
    pub idempotency_key: String,
    /// Where it stands.
    pub state: CheckoutState,
    /// The order it creates, complete with its id; its lines are what gets reserved and its
    /// discounts what gets redeemed.
    pub order: Order,
    /// Why it failed, once `Failed`.
    pub failure: Option<CheckoutFailure>,
    /// Past this instant a non-terminal record counts as abandoned and recovery takes it over.
    pub deadline: Timestamp,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A state change of a record (see [`CheckoutRepo::transition`]).
#[derive(Clone, PartialEq, Debug)]
pub struct Transition {
    /// The state the record must be in.
    pub from: CheckoutState,
    /// The state it moves to.
    pub to: CheckoutState,
    /// The new deadline.
    pub deadline: Timestamp,
    /// The failure to record (for `Failed`), else `None`.
    pub failure: Option<CheckoutFailure>,
    /// The time of the change.
    pub now: Timestamp,
}

/// Storage of checkout records.
#[async_trait]
pub trait CheckoutRepo: Send + Sync + Debug + 'static {
    /// Inserts a record; [`Error::Conflict`] if the customer already has a record with this
    /// idempotency key (atomically: of concurrent inserts with one key, exactly one succeeds).
    async fn insert(&self, record: &CheckoutRecord) -> Result<()>;

    /// The record with `id`, if any.
    async fn get(&self, id: &CheckoutId) -> Result<Option<CheckoutRecord>>;

    /// The customer's record with `idempotency_key`, if any.
    async fn find_by_key(
        &self,
        customer_id: &CustomerId,
        idempotency_key: &str,
    ) -> Result<Option<CheckoutRecord>>;

    /// Compare-and-set: if the record is in `change.from`, moves it to `change.to` with the new
    /// deadline and failure and returns true; otherwise changes nothing and returns false.
    async fn transition(&self, id: &CheckoutId, change: &Transition) -> Result<bool>;

    /// Up to `limit` non-terminal records whose deadline is before `now`, oldest deadline first.
    async fn list_stale(&self, now: Timestamp, limit: u32) -> Result<Vec<CheckoutRecord>>;
}
