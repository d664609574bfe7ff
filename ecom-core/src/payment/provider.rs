//! The [`PaymentProvider`] port: what a payment service provider (PSP) does for ecom, and the
//! events and callbacks it reports with.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::OrderId;
use crate::money::Money;
use crate::order::Order;
use crate::payment::state::Capture;
use async_trait::async_trait;
use chrono::Duration;
use std::fmt::Debug;

/// What a provider reports about a payment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PaymentEventKind {
    /// The money arrived.
    Succeeded,
    /// The payment failed: the order is cancelled.
    Failed,
    /// A refund was made.
    RefundSucceeded,
    /// A refund the provider took could not be made (it is asked again later).
    RefundFailed,
}

/// A verified provider event.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PaymentEvent {
    /// The provider's event id: an event is applied once, a replay is answered and ignored.
    pub id: String,
    /// What happened.
    pub kind: PaymentEventKind,
    /// The order it is about.
    pub order_id: OrderId,
    /// The amount the provider saw; it must equal the order's.
    pub amount: Money,
    /// The provider's reference of the payment, if it sent one.
    pub provider_ref: Option<String>,
    /// For a refund event: the reference ecom gave the refund when it asked
    /// ([`PaymentProvider::refund`]): a return's id for the refund of a return, absent (or the
    /// order's id) for the refund of the whole order.
    pub reference: Option<String>,
}

/// A provider's callback as it reached the server: its headers (names in lowercase) and its
/// raw body (signatures are computed over the exact bytes).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Callback {
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Callback {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a provider did with a refund request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RefundOutcome {
    /// The money is back with the customer.
    Refunded,
    /// The provider took the request and will confirm with a
    /// [`PaymentEventKind::RefundSucceeded`] event.
    Requested,
}

/// A payment provider (PSP), registered by its method name in
/// [`PaymentProviders`](crate::payment::PaymentProviders).
///
/// The services call it outside any store write and may call it again for the same order
/// after a crash or a lost reply, so `create` and `refund` must be idempotent per order id
/// (PSPs take an idempotency key for this).
#[async_trait]
pub trait PaymentProvider: Send + Sync + Debug + 'static {
    /// The method name customers choose (`user_payment.method`).
    fn name(&self) -> &str;

    /// How it collects.
    fn capture(&self) -> Capture;

    /// How long an unpaid order of an online method stays open (ignored for
    /// [`Capture::OnDelivery`]).
    fn timeout(&self) -> Duration {
        Duration::seconds(900)
    }

    /// Starts the payment of a just-placed order; the provider's reference, if it has one.
    /// The default starts nothing (the customer pays with the order id). Called once, after
    /// the order is placed and outside the checkout's commit; if it fails (or the process dies
    /// first) the order stays unpaid, and an online one expires.
    async fn create(&self, _order: &Order) -> Result<Option<String>> {
        Ok(None)
    }

    /// Asks for `amount` of the order's payment to be refunded, under `reference`: the order's
    /// id for the whole payment (a cancelled order), a return's id for the refund of a return
    /// (partial). Idempotent per reference (a PSP's idempotency key); the provider's refund
    /// events carry the reference back.
    async fn refund(&self, order: &Order, amount: Money, reference: &str) -> Result<RefundOutcome>;

    /// Verifies a callback (signature, freshness) and parses it into an event.
    /// [`Error::Validation`](crate::error::Error::Validation) for a callback that is not genuine
    /// or not understood.
    fn verify(&self, callback: &Callback, now: Timestamp) -> Result<PaymentEvent>;
}
