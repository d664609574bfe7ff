//! The built-in `online` method: a provider that reports by signed webhook.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::OrderId;
use crate::money::{Currency, MajorUnits, Money};
use crate::order::Order;
use crate::payment::provider::{
    Callback, PaymentEvent, PaymentEventKind, PaymentProvider, RefundOutcome,
};
use crate::payment::state::Capture;
use crate::secret::Secret;
use async_trait::async_trait;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Most `v1` signatures a callback may carry (a secret being rotated needs two).
pub const MAX_SIGNATURES: usize = 3;

/// Longest signature header accepted, in bytes (three signatures and a time fit with room).
pub const MAX_SIGNATURE_HEADER: usize = 512;

/// The header carrying a [`SignedWebhook`] signature.
pub const SIGNATURE_HEADER: &str = "x-ecom-signature";

/// A provider that reports by signed webhook (`online`), with Stripe's scheme: the header
/// [`SIGNATURE_HEADER`] is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
/// (up to [`MAX_SIGNATURES`] `v1`, for secret rotation; the header at most
/// [`MAX_SIGNATURE_HEADER`] bytes), `t` at most `tolerance` away from now, and
/// the body is `{id, type: payment.succeeded | payment.failed | refund.succeeded |
/// refund.failed, order_id, amount, currency, provider_ref?, reference?}` with `amount` in major
/// units as the order shows it (for a refund: the refund's amount), and for the refund of a
/// return `reference` its id (as ecom gave it in [`PaymentProvider::refund`]).
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
        if header.len() > MAX_SIGNATURE_HEADER {
            return Err(bad("is too long"));
        }
        let mut t = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => {
                    if signatures.len() == MAX_SIGNATURES {
                        return Err(bad("carries more than 3 v1 signatures"));
                    }
                    signatures.push(hex::decode(v).map_err(|_| bad("v1 must be hex"))?)
                }
                _ => {}
            }
        }
        let t = t.ok_or_else(|| bad("must carry t=<unix seconds>"))?;
        // Compared without arithmetic that could wrap: any i64 `t` is fine.
        if now.timestamp().abs_diff(t) > self.tolerance.num_seconds().unsigned_abs() {
            return Err(bad("is too old or from the future"));
        }
        // The MAC is computed once over the body; each signature is compared to it in
        // constant time (a clone of the finished state costs one hash block, not the body).
        let mac = Self::mac(&self.secret, t, &callback.body);
        if !signatures
            .iter()
            .any(|s| mac.clone().verify_slice(s).is_ok())
        {
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
    #[serde(default)]
    reference: Option<String>,
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

    async fn refund(&self, order: &Order, amount: Money, reference: &str) -> Result<RefundOutcome> {
        tracing::info!(order_id = %order.id, %amount, reference, "refund requested");
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
            "refund.failed" => PaymentEventKind::RefundFailed,
            _ => {
                return Err(Error::validation(
                    "type",
                    "must be one of payment.succeeded, payment.failed, refund.succeeded, \
                     refund.failed",
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
            reference: body
                .reference
                .map(|r| crate::validate::text("reference", &r, 200))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn provider() -> (SignedWebhook, Secret) {
        let secret = Secret::new(b"webhook-secret-0123456789".to_vec());
        (
            SignedWebhook::new(secret.clone(), Duration::seconds(900)),
            secret,
        )
    }

    fn callback(header: &str, body: &[u8]) -> Callback {
        Callback {
            headers: vec![(SIGNATURE_HEADER.to_owned(), header.to_owned())],
            body: body.to_vec(),
        }
    }

    /// A header of 5,000 `v1` entries over a 100 KB body is refused, and costs no more than
    /// one genuine signature (before, the MAC of the whole body was computed per entry).
    #[test]
    fn many_signatures_cost_what_one_does() {
        let (provider, secret) = provider();
        let body = vec![b'x'; 100_000];
        let now = chrono::Utc::now();
        let one = SignedWebhook::sign(&secret, now.timestamp(), &body);
        let mut many = format!("t={}", now.timestamp());
        for _ in 0..5_000 {
            many.push_str(",v1=00");
        }
        let refused = provider.check_signature(&callback(&many, &body), now);
        assert!(
            matches!(refused, Err(Error::Validation { ref field, .. }) if field == SIGNATURE_HEADER),
            "{refused:?}"
        );
        let cost = |header: &str| {
            let call = callback(header, &body);
            let start = Instant::now();
            for _ in 0..20 {
                let _ = provider.check_signature(&call, now);
            }
            start.elapsed()
        };
        let (one_cost, many_cost) = (cost(&one), cost(&many));
        assert!(
            many_cost <= one_cost * 3,
            "5,000 entries cost {many_cost:?}, one genuine signature {one_cost:?}"
        );
        // Within the size bound, at most three signatures; a genuine one among them passes.
        let fake = "0".repeat(64);
        let three = format!("{one},v1={fake},v1={fake}");
        assert!(provider
            .check_signature(&callback(&three, &body), now)
            .is_ok());
        let four = format!("{three},v1={fake}");
        assert!(provider
            .check_signature(&callback(&four, &body), now)
            .is_err());
    }

    /// A time far in the past or future cannot wrap the freshness check around.
    #[test]
    fn extreme_times_are_refused_not_wrapped() {
        let (provider, secret) = provider();
        let body = br#"{"id":"e"}"#;
        let now = chrono::Utc::now();
        for t in [
            i64::MIN,
            -9_223_372_035_058_208_728,
            i64::MAX,
            now.timestamp() - 301,
        ] {
            let header = SignedWebhook::sign(&secret, t, body);
            let refused = provider.check_signature(&callback(&header, body), now);
            assert!(
                matches!(refused, Err(Error::Validation { ref message, .. }) if message.contains("too old")),
                "t={t}: {refused:?}"
            );
        }
        let fresh = SignedWebhook::sign(&secret, now.timestamp() - 299, body);
        assert!(provider
            .check_signature(&callback(&fresh, body), now)
            .is_ok());
    }
}
