//! The port of webhooks: endpoints and deliveries ([`WebhookRepo`]).

use super::delivery::{Delivery, DeliveryStatus};
use super::endpoint::{Endpoint, EndpointOwner};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{DeliveryId, EndpointId, ShopId};
use crate::page::Page;
use async_trait::async_trait;
use std::fmt::Debug;

/// How much one claim may take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClaimLimits {
    /// Most deliveries this claim takes.
    pub max: u32,
    /// Most deliveries of one endpoint leased at once, by every worker together.
    pub per_endpoint: u32,
}

/// Webhook endpoints and their deliveries.
#[async_trait]
pub trait WebhookRepo: Send + Sync + Debug + 'static {
    /// Inserts a new endpoint.
    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<()>;

    /// The endpoint with `id`, if any.
    async fn endpoint(&self, id: &EndpointId) -> Result<Option<Endpoint>>;

    /// `owner`'s endpoints, oldest first.
    async fn endpoints(&self, owner: &EndpointOwner) -> Result<Vec<Endpoint>>;

    /// The enabled endpoints of `shops` and of the platform (those an event concerning
    /// `shops` may go to).
    async fn enabled_endpoints(&self, shops: &[ShopId]) -> Result<Vec<Endpoint>>;

    /// Replaces the endpoint `endpoint.id` with `endpoint`, only if it is still at version
    /// `expected` (`endpoint.version` is the new one); whether it was replaced.
    async fn replace_endpoint(&self, endpoint: &Endpoint, expected: u64) -> Result<bool>;

    /// Deletes the endpoint `id` and its deliveries; whether it existed.
    async fn delete_endpoint(&self, id: &EndpointId) -> Result<bool>;

    /// Records a failed attempt to endpoint `id` at `at`: sets `failing_since` to `at` unless it
    /// is set (moving the version up). Returns `failing_since` after, none if the endpoint is
    /// gone.
    async fn endpoint_failed(&self, id: &EndpointId, at: Timestamp) -> Result<Option<Timestamp>>;

    /// Records a successful attempt to endpoint `id`: clears `failing_since` (moving the version
    /// up if it was set).
    async fn endpoint_succeeded(&self, id: &EndpointId) -> Result<()>;

    /// Disables endpoint `id` with `reason` (moving the version up); whether it was enabled.
    async fn disable_endpoint(&self, id: &EndpointId, reason: &str) -> Result<bool>;

    /// Inserts `deliveries`, each only if no delivery of the same (endpoint, event) exists
    /// (so dispatching twice, or from several processes, makes no duplicate), and in order: a
    /// delivery is stored only once those before it in `deliveries` are. Returns how many were
    /// new.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<u64>;

    /// Claims due deliveries for `holder` until `until`: pending ones whose `next_try_at` is at
    /// or before `now`, with no lease or a lapsed one, and with no pending delivery of the same
    /// endpoint and [order key](Delivery::order_key) at a lower cursor; at most `limits.max`,
    /// and never more than `limits.per_endpoint` leased at once per endpoint (every holder's
    /// leases counted). Each claimed one gets the lease and its fence moves up by one; it is
    /// returned as stored after the claim. A delivery is claimed by one caller at a time.
    async fn claim(
        &self,
        now: Timestamp,
        holder: &str,
        until: Timestamp,
        limits: ClaimLimits,
    ) -> Result<Vec<Delivery>>;

    /// Stores each `(delivery, fence)` of `finished` (its status, attempts, next try, lease),
    /// only if its fence is still `fence` (no other worker claimed it since), in as few round
    /// trips as the store allows; whether each was stored, in order. A delivery that leaves
    /// `pending` makes the next pending delivery of its endpoint and order key that was never
    /// attempted due at once.
    async fn finish_many(&self, finished: &[(Delivery, u64)]) -> Result<Vec<bool>>;

    /// The delivery with `id`, if any.
    async fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>>;

    /// The deliveries of `endpoint` (with `status`, if given), newest first, in `page`.
    async fn deliveries(
        &self,
        endpoint: &EndpointId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<Vec<Delivery>>;

    /// Makes delivery `id` pending and due at `now` (a failed one again, a pending one at
    /// once); a succeeded one is left alone. Returns it after, none if it is gone.
    async fn retry(&self, id: &DeliveryId, now: Timestamp) -> Result<Option<Delivery>>;

    /// Removes the deliveries that succeeded or failed before `before` (retention); how many
    /// went. Pending ones stay.
    async fn purge(&self, before: Timestamp) -> Result<u64>;
}
