//! The state of an order's payment and its rules.
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
//! ([`PaymentProvider::refund`](crate::payment::PaymentProvider::refund)) until the provider
//! takes the request.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::money::Money;
use chrono::Duration;
use serde::{Deserialize, Serialize};

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
    /// Refund requests that failed so far (the provider was down, or its method is gone).
    #[serde(default)]
    pub refund_attempts: u32,
    /// After a failed refund request: when the sweep asks again (backing off, so failing
    /// refunds never hold up the rest of the sweep).
    #[serde(default)]
    pub refund_retry_at: Option<Timestamp>,
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
            refund_attempts: 0,
            refund_retry_at: None,
            events: Vec::new(),
        }
    }

    /// When the server must act on this payment by itself, if ever: the expiry of an unpaid
    /// online payment, or a refund due and not yet taken by the provider (after a failed
    /// request, its next try). Sweeps look for
    /// payments due before now ([`crate::order::OrderRepo::list_payments_due`]).
    pub fn due_at(&self) -> Option<Timestamp> {
        match self.status {
            PaymentStatus::Pending => self.expires_at,
            PaymentStatus::Paid if !self.refund_requested => self
                .refund_due_at
                .map(|due| self.refund_retry_at.map_or(due, |r| r.max(due))),
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

    /// A refund request failed at `now`: the next try waits 1, 2, 4 ... minutes, at most an
    /// hour.
    pub fn refund_failed(&mut self, now: Timestamp) {
        self.refund_attempts = self.refund_attempts.saturating_add(1);
        let minutes = (1i64 << self.refund_attempts.saturating_sub(1).min(6)).min(60);
        self.refund_retry_at = Some(now + Duration::minutes(minutes));
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
