//! Payments: the state of an order's payment and its rules, the [`PaymentProvider`] port,
//! the registry of providers by method name, and the two built-in providers: cash on
//! delivery ([`CashOnDelivery`], `cod`) and a signed-webhook provider ([`SignedWebhook`],
//! `online`).
//!
//! An order's payment moves, each step one conditional write of the order:
//!
//! ```text
//!   pending ──(provider: succeeded / cod: every line delivered)──> paid ──(refund confirmed)──> refunded
//!      │                                                             ▲
//!      └──(provider: failed / unpaid past the timeout / cancelled)──> failed ──(money arrived late)
//! ```
//!
//! A payment that arrives for a cancelled order is recorded as paid with a refund due; so is
//! a paid order that gets cancelled. The server asks the provider for every refund due
//! ([`PaymentProvider::refund`]) until the provider takes the request.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::OrderId;
use crate::money::{Currency, MajorUnits, Money};
use crate::order::Order;
use crate::secret::Secret;
use async_trait::async_trait;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// Most provider event ids an order remembers (to ignore replays); older ones are forgotten.
pub const MAX_EVENTS: usize = 20;

/// Where a payment stands.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Not paid yet.
    Pending,
    /// The money arrived.
    Paid,
    /// No money will arrive: the provider reported a failure, or the order was cancelled or
    /// expired unpaid.
    Failed,
    /// The money went back to the customer.
    Refunded,
}

impl PaymentStatus {
    /// Every status with its name.
    pub const ALL: [(&'static str, PaymentStatus); 4] = [
        ("pending", PaymentStatus::Pending),
        ("paid", PaymentStatus::Paid),
        ("failed", PaymentStatus::Failed),
        ("refunded", PaymentStatus::Refunded),
    ];

    /// Whether a payment may move from `self` to `next`: pending -> paid | failed, paid ->
    /// refunded, and failed -> paid (money that arrived after the order was given up; it is
    /// refunded). Staying put is no move.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Paid) | (Pending, Failed) | (Paid, Refunded) | (Failed, Paid)
        )
    }

    /// Parses `pending|paid|failed|refunded`.
    pub fn parse(text: &str, field: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                Error::validation(field, "must be one of pending, paid, failed, refunded")
            })
    }

    /// The name (`pending`, ...).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("pending", |(n, _)| n)
    }
}

/// How a payment method collects the money.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capture {
    /// Paid when every line of the order is delivered (cash on delivery). The shop may ship
    /// before.
    OnDelivery,
    /// Paid through a provider before shipping; unpaid past the provider's timeout, the order
    /// is cancelled by the server.
    Online,
}

/// The payment of an order. No card or account details: a provider holds those.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Payment {
    /// The method (the provider's registered name).
    pub method: String,
    /// How the method collects.
    pub capture: Capture,
    /// Where it stands.
    pub status: PaymentStatus,
    /// What the customer pays (the order's `total_checkout`), in minor units.
    pub amount: Money,
    /// For an online payment: when the order is cancelled if still unpaid.
    pub expires_at: Option<Timestamp>,
    /// When the money arrived.
    pub paid_at: Option<Timestamp>,
    /// The provider's reference of the payment, once it gave one.
    pub provider_ref: Option<String>,
    /// When a refund became due (a paid order was cancelled, or money arrived for a cancelled
    /// order).
    pub refund_due_at: Option<Timestamp>,
    /// Whether the provider took the refund request (then it confirms with a refund event).
    pub refund_requested: bool,
    /// The provider events applied or answered, newest last (at most [`MAX_EVENTS`]).
    pub events: Vec<String>,
}

impl Payment {
    /// A new pending payment of `amount` by `method`; an online one expires `timeout` after
    /// `now`. Nothing to pay (a fully discounted order) is paid at once.
    pub fn new(
        method: &str,
        capture: Capture,
        amount: Money,
        now: Timestamp,
        timeout: Duration,
    ) -> Self {
        let free = amount.minor == 0;
        Payment {
            method: method.to_owned(),
            capture,
            status: if free {
                PaymentStatus::Paid
            } else {
                PaymentStatus::Pending
            },
            amount,
            expires_at: (capture == Capture::Online && !free).then(|| now + timeout),
            paid_at: free.then_some(now),
            provider_ref: None,
            refund_due_at: None,
            refund_requested: false,
            events: Vec::new(),
        }
    }

    /// When the server must act on this payment by itself, if ever: the expiry of an unpaid
    /// online payment, or a refund due and not yet taken by the provider. Sweeps look for
    /// payments due before now ([`crate::order::OrderRepo::list_payments_due`]).
    pub fn due_at(&self) -> Option<Timestamp> {
        match self.status {
            PaymentStatus::Pending => self.expires_at,
            PaymentStatus::Paid if !self.refund_requested => self.refund_due_at,
            _ => None,
        }
    }

    /// Whether lines may move past `confirmed` (shipped, delivered): an online payment must be
    /// paid first (and not refunded); cash on delivery ships unpaid.
    pub fn allows_shipping(&self) -> bool {
        match self.capture {
            Capture::OnDelivery => true,
            Capture::Online => self.status == PaymentStatus::Paid && self.refund_due_at.is_none(),
        }
    }

    /// Whether the provider event `id` was seen already.
    pub fn has_seen(&self, id: &str) -> bool {
        self.events.iter().any(|e| e == id)
    }

    /// Remembers the provider event `id` (keeping the newest [`MAX_EVENTS`]).
    pub fn remember(&mut self, id: &str) {
        if !self.has_seen(id) {
            self.events.push(id.to_owned());
            let extra = self.events.len().saturating_sub(MAX_EVENTS);
            self.events.drain(..extra);
        }
    }

    /// Moves to `next`; [`Error::Conflict`] for a move [`PaymentStatus::can_become`] refuses.
    pub fn become_(&mut self, next: PaymentStatus, now: Timestamp) -> Result<()> {
        if !self.status.can_become(next) {
            return Err(Error::refused(
                "payment",
                format!("cannot go from {} to {}", self.status.name(), next.name()),
            ));
        }
        if next == PaymentStatus::Paid {
            self.paid_at = Some(now);
        }
        self.status = next;
        Ok(())
    }

    /// The order was cancelled as a whole: a pending payment fails (no money will be taken);
    /// a paid one gets a refund due.
    pub fn on_cancelled(&mut self, now: Timestamp) {
        match self.status {
            PaymentStatus::Pending => self.status = PaymentStatus::Failed,
            PaymentStatus::Paid if self.refund_due_at.is_none() => self.refund_due_at = Some(now),
            _ => {}
        }
    }
}

/// What a provider reports about a payment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PaymentEventKind {
    /// The money arrived.
    Succeeded,
    /// The payment failed: the order is cancelled.
    Failed,
    /// A refund was made.
    RefundSucceeded,
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

/// A payment provider (PSP), registered by its method name in [`PaymentProviders`].
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

    /// Asks for the order's payment to be refunded in full.
    async fn refund(&self, order: &Order) -> Result<RefundOutcome>;

    /// Verifies a callback (signature, freshness) and parses it into an event.
    /// [`Error::Validation`] for a callback that is not genuine or not understood.
    fn verify(&self, callback: &Callback, now: Timestamp) -> Result<PaymentEvent>;
}

/// The registered payment providers, by method name.
#[derive(Debug, Clone, Default)]
pub struct PaymentProviders {
    providers: BTreeMap<String, Arc<dyn PaymentProvider>>,
}

impl PaymentProviders {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry with cash on delivery (`cod`) only; add [`SignedWebhook`] (`online`) with a
    /// secret, or providers of your own, with [`Self::register`].
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        registry
            .providers
            .insert("cod".to_owned(), Arc::new(CashOnDelivery));
        registry
    }

    /// Registers a provider; [`Error::AlreadyExists`] if its name is taken.
    pub fn register(&mut self, provider: Arc<dyn PaymentProvider>) -> Result<()> {
        let name = provider.name().to_owned();
        if name.trim().is_empty() {
            return Err(Error::validation("method", "a payment method needs a name"));
        }
        if self.providers.contains_key(&name) {
            return Err(Error::already_exists("payment method"));
        }
        self.providers.insert(name, provider);
        Ok(())
    }

    /// The provider of method `name`; [`Error::Validation`] of `field` naming the methods if
    /// there is none.
    pub fn get(&self, name: &str, field: &str) -> Result<&Arc<dyn PaymentProvider>> {
        self.providers.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.names().collect();
            Error::validation(field, format!("must be one of {}", names.join(", ")))
        })
    }

    /// The registered method names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }
}

/// Cash on delivery (`cod`): paid when every line is delivered; takes no callbacks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CashOnDelivery;

#[async_trait]
impl PaymentProvider for CashOnDelivery {
    fn name(&self) -> &str {
        "cod"
    }

    fn capture(&self) -> Capture {
        Capture::OnDelivery
    }

    /// Cash is handed back by the shop; nothing to ask of anyone.
    async fn refund(&self, _order: &Order) -> Result<RefundOutcome> {
        Ok(RefundOutcome::Refunded)
    }

    fn verify(&self, _callback: &Callback, _now: Timestamp) -> Result<PaymentEvent> {
        Err(Error::validation(
            "method",
            "cash on delivery takes no callbacks",
        ))
    }
}

/// The header carrying a [`SignedWebhook`] signature.
pub const SIGNATURE_HEADER: &str = "x-ecom-signature";

/// A provider that reports by signed webhook (`online`), with Stripe's scheme: the header
/// [`SIGNATURE_HEADER`] is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
/// (several `v1` are allowed, for secret rotation), `t` at most `tolerance` away from now, and
/// the body is `{id, type: payment.succeeded | payment.failed | refund.succeeded, order_id,
/// amount, currency, provider_ref?}` with `amount` in major units as the order shows it.
///
/// A refund is *requested*: the operator (or an application wrapping this provider around
/// its PSP's API) refunds and the PSP confirms with `refund.succeeded`; until then the order
/// shows the refund as requested.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    name: String,
    secret: Secret,
    timeout: Duration,
    tolerance: Duration,
}

impl SignedWebhook {
    /// The `online` provider with `secret`, unpaid orders expiring after `timeout`, and a 300 s
    /// tolerance on signature times.
    pub fn new(secret: Secret, timeout: Duration) -> Self {
        SignedWebhook {
            name: "online".to_owned(),
            secret,
            timeout,
            tolerance: Duration::seconds(300),
        }
    }

    /// The same under another method name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The signature header value for `body` at unix time `t` (what the PSP sends; for
    /// tests and tools).
    pub fn sign(secret: &Secret, t: i64, body: &[u8]) -> String {
        let mac = Self::mac(secret, t, body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn mac(secret: &Secret, t: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    fn check_signature(&self, callback: &Callback, now: Timestamp) -> Result<()> {
        let bad = |why: &str| Error::validation(SIGNATURE_HEADER, why);
        let header = callback
            .header(SIGNATURE_HEADER)
            .ok_or_else(|| bad("is required"))?;
        let mut t = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => {
                    signatures.push(hex::decode(v).map_err(|_| bad("v1 must be hex"))?)
                }
                _ => {}
            }
        }
        let t = t.ok_or_else(|| bad("must carry t=<unix seconds>"))?;
        if (now.timestamp() - t).abs() > self.tolerance.num_seconds() {
            return Err(bad("is too old or from the future"));
        }
        let genuine = signatures.iter().any(|s| {
            Self::mac(&self.secret, t, &callback.body)
                .verify_slice(s)
                .is_ok()
        });
        if !genuine {
            return Err(bad("does not match the body"));
        }
        Ok(())
    }
}

/// The body of a [`SignedWebhook`] callback.
#[derive(Deserialize)]
struct WebhookBody {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    order_id: String,
    amount: MajorUnits,
    currency: String,
    #[serde(default)]
    provider_ref: Option<String>,
}

#[async_trait]
impl PaymentProvider for SignedWebhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn capture(&self) -> Capture {
        Capture::Online
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refund(&self, order: &Order) -> Result<RefundOutcome> {
        tracing::info!(order_id = %order.id, amount = %order.totals.total_checkout, "refund requested");
        Ok(RefundOutcome::Requested)
    }

    fn verify(&self, callback: &Callback, now: Timestamp) -> Result<PaymentEvent> {
        self.check_signature(callback, now)?;
        let body: WebhookBody = serde_json::from_slice(&callback.body)
            .map_err(|e| Error::validation("body", format!("is not a payment event: {e}")))?;
        let kind = match body.kind.as_str() {
            "payment.succeeded" => PaymentEventKind::Succeeded,
            "payment.failed" => PaymentEventKind::Failed,
            "refund.succeeded" => PaymentEventKind::RefundSucceeded,
            _ => {
                return Err(Error::validation(
                    "type",
                    "must be one of payment.succeeded, payment.failed, refund.succeeded",
                ))
            }
        };
        let id = crate::validate::text("id", &body.id, 200)?;
        let currency = Currency::from_code(&body.currency)
            .map_err(|_| Error::validation("currency", "is not an ISO 4217 code"))?;
        Ok(PaymentEvent {
            id,
            kind,
            order_id: OrderId::parse(&body.order_id)
                .map_err(|_| Error::validation("order_id", "is not an order id"))?,
            amount: Money::parse_major(&body.amount, currency, "amount")?,
            provider_ref: body
                .provider_ref
                .map(|r| crate::validate::text("provider_ref", &r, 200))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::{self, *};

    #[test]
    fn only_the_documented_moves_are_allowed() {
        let all = [Pending, Paid, Failed, Refunded];
        let allowed = [
            (Pending, Paid),
            (Pending, Failed),
            (Paid, Refunded),
            (Failed, Paid),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
        for (name, status) in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(name, "s").unwrap(), status);
            assert_eq!(status.name(), name);
        }
        assert!(PaymentStatus::parse("PAID", "s").is_err());
    }
}
