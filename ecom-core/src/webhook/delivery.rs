//! A delivery: one event (or a ping) to one endpoint, its attempts, and who is attempting it
//! now; and the port that makes an attempt ([`WebhookTransport`]).

use super::endpoint::{Endpoint, EndpointOwner};
use crate::clock::Timestamp;
use crate::event::{Aggregate, AggregateKind, Cursor, EventKind, Logged};
use crate::id::{DeliveryId, EndpointId, EventId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Most attempts a delivery keeps (the newest).
pub const ATTEMPTS_KEPT: usize = 20;

/// Where a delivery stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet: due at its `next_try_at`.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Given up: too many failed attempts, a `410 Gone`, or its endpoint was disabled or
    /// deleted.
    Failed,
}

impl DeliveryStatus {
    /// The name clients see (`pending`, `succeeded`, `failed`).
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a name; errors name `field`.
    pub fn parse(name: &str, field: &str) -> crate::error::Result<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            crate::error::Error::validation(field, "must be pending, succeeded or failed")
        })
    }
}

/// One attempt of a delivery.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Attempt {
    /// When it was made.
    pub at: Timestamp,
    /// The receiver's HTTP status, if it answered.
    #[serde(default)]
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What went wrong, if anything did (a timeout, a refused address, a non-2xx answer).
    #[serde(default)]
    pub error: Option<String>,
}

/// A worker's claim on a delivery: only the holder attempts it until `until`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Lease {
    /// The worker.
    pub holder: String,
    /// When the claim lapses (then another worker may take the delivery over).
    pub until: Timestamp,
}

/// One event (or a ping) to one endpoint.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id (also the `webhook-id` a receiver deduplicates by).
    pub id: DeliveryId,
    /// The endpoint.
    pub endpoint_id: EndpointId,
    /// The endpoint's owner.
    pub owner: EndpointOwner,
    /// The event delivered (for a ping, an id of its own).
    pub event_id: EventId,
    /// The event's type; none for a ping.
    #[serde(default)]
    pub event_kind: Option<EventKind>,
    /// The event's position in the log (`Cursor(0)` for a ping).
    pub cursor: Cursor,
    /// The aggregate the event happened to, at its version; none for a ping.
    #[serde(default)]
    pub aggregate: Option<Aggregate>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Its attempts, oldest first (the newest [`ATTEMPTS_KEPT`]).
    pub attempts: Vec<Attempt>,
    /// How many attempts were made in all.
    pub attempt_count: u32,
    /// When it is due (if pending).
    pub next_try_at: Timestamp,
    /// The worker attempting it now, if any.
    #[serde(default)]
    pub lease: Option<Lease>,
    /// Moves up with every claim: a worker's writes hold only while it is unchanged.
    pub fence: u64,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it succeeded or was given up.
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
}

impl Delivery {
    /// A pending delivery of `event` to `endpoint`, due at `now`.
    pub fn of_event(endpoint: &Endpoint, event: &Logged, now: Timestamp) -> Self {
        Delivery {
            id: DeliveryId::generate(),
            endpoint_id: endpoint.id.clone(),
            owner: endpoint.owner.clone(),
            event_id: event.event.id.clone(),
            event_kind: Some(event.event.kind),
            cursor: event.cursor,
            aggregate: Some(event.event.aggregate.clone()),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            attempt_count: 0,
            next_try_at: now,
            lease: None,
            fence: 0,
            created_at: now,
            finished_at: None,
        }
    }

    /// A pending ping of `endpoint`, due at `now`.
    pub fn ping(endpoint: &Endpoint, now: Timestamp) -> Self {
        Delivery {
            id: DeliveryId::generate(),
            endpoint_id: endpoint.id.clone(),
            owner: endpoint.owner.clone(),
            event_id: EventId::generate(),
            event_kind: None,
            cursor: Cursor(0),
            aggregate: None,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            attempt_count: 0,
            next_try_at: now,
            lease: None,
            fence: 0,
            created_at: now,
            finished_at: None,
        }
    }

    /// Whether it is a ping.
    pub fn is_ping(&self) -> bool {
        self.event_kind.is_none()
    }

    /// The key of its order: deliveries of one endpoint with the same key are made in cursor
    /// order (the aggregate's `kind:id`; a ping's own id, so it waits for nothing).
    pub fn order_key(&self) -> String {
        match &self.aggregate {
            Some(a) => {
                let kind = match a.kind {
                    AggregateKind::Order => "order",
                    AggregateKind::Product => "product",
                    AggregateKind::Stock => "stock",
                    AggregateKind::Discount => "discount",
                };
                format!("{kind}:{}", a.id)
            }
            None => format!("ping:{}", self.id),
        }
    }

    /// Whether it is pending, due at `now`, and free (no lease, or a lapsed one). Its order
    /// (no earlier pending delivery of the same endpoint and key) is checked by the claim.
    pub fn claimable(&self, now: Timestamp) -> bool {
        self.status == DeliveryStatus::Pending
            && self.next_try_at <= now
            && self.lease.as_ref().is_none_or(|l| l.until <= now)
    }

    /// Records `attempt`, keeping the newest [`ATTEMPTS_KEPT`].
    pub fn record(&mut self, attempt: Attempt) {
        self.attempts.push(attempt);
        self.attempt_count = self.attempt_count.saturating_add(1);
        let extra = self.attempts.len().saturating_sub(ATTEMPTS_KEPT);
        self.attempts.drain(..extra);
    }
}

/// What one attempt of a delivery came to.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AttemptOutcome {
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What went wrong, if anything did.
    pub error: Option<String>,
}

/// Sends a delivery to its endpoint: the HTTP client (in `ecom-http`: a timeout, no redirects,
/// a bounded read of the answer, the body as the owner's audience sees the event, and the
/// [`signatures`](super::signatures) of every live secret). It must refuse to connect to an
/// address [`is_forbidden_ip`](super::is_forbidden_ip) refuses, unless private addresses are
/// allowed.
#[async_trait]
pub trait WebhookTransport: Send + Sync + Debug + 'static {
    /// Makes one attempt of `delivery` to `endpoint`, carrying `event` (none: a ping), at
    /// `now` (the time it signs with, and picks the live secrets by).
    async fn deliver(
        &self,
        endpoint: &Endpoint,
        delivery: &Delivery,
        event: Option<&Logged>,
        now: Timestamp,
    ) -> AttemptOutcome;
}
