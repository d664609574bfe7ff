//! Webhooks: shops (and the operator) register endpoints; a durable consumer of the event log
//! makes one delivery per event and matching endpoint (`dispatch`); workers attempt due
//! deliveries under a lease and a fence, retry with backoff, keep each aggregate's order per
//! endpoint, and disable endpoints that are gone or keep failing (`worker`).

mod dispatch;
mod worker;

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::id::{DeliveryId, EndpointId};
use crate::page::Page;
use crate::webhook::{
    check_secret, new_secret, validate_url, Delivery, DeliveryStatus, Endpoint, EndpointOwner,
    SigningSecret, UrlRules, WebhookTransport,
};
use chrono::Duration;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// How long the deliveries that succeeded or were given up are kept (then
/// [`WebhookService::purge`] removes them; on MongoDB a TTL index too).
pub const DELIVERY_RETENTION: Duration = Duration::days(7);

/// Most characters of an endpoint's description.
pub const MAX_DESCRIPTION_LEN: usize = 500;

/// How many times a compare-and-set change of an endpoint is tried against concurrent ones.
const CHANGE_TRIES: usize = 10;

/// Settings of webhooks. The transport is the HTTP client (`ecom-http` provides one); without
/// one, deliveries wait.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// What sends deliveries (default none: [`WebhookService::deliver_due`] refuses).
    pub transport: Option<Arc<dyn WebhookTransport>>,
    /// Whether endpoints may use plain `http://` (default false).
    pub allow_http: bool,
    /// Whether endpoints may point at private, loopback and other internal addresses (default
    /// false; `ECOM_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
    /// Most endpoints per shop (default 20).
    pub max_endpoints_per_shop: usize,
    /// Attempts of a delivery before it is given up (default 12).
    pub max_attempts: u32,
    /// Wait before the second attempt; it doubles with each failure (default 10 s).
    pub first_retry: Duration,
    /// Longest wait between attempts (default 1 day).
    pub max_retry: Duration,
    /// How long an endpoint may fail every attempt before it is disabled (default 2 days).
    pub disable_after: Duration,
    /// How long finished deliveries are kept (default [`DELIVERY_RETENTION`]).
    pub retention: Duration,
    /// How long a worker's claim on a delivery lasts (default 60 s; longer than the
    /// transport's timeout).
    pub lease: Duration,
    /// Most deliveries this process attempts at once (default 64).
    pub max_in_flight: usize,
    /// Most deliveries of one endpoint attempted at once, by all workers (default 4).
    pub max_in_flight_per_endpoint: u32,
    /// Most events one dispatch pass reads from the log (default 500).
    pub dispatch_batch: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            transport: None,
            allow_http: false,
            allow_private: false,
            max_endpoints_per_shop: 20,
            max_attempts: 12,
            first_retry: Duration::seconds(10),
            max_retry: Duration::days(1),
            disable_after: Duration::days(2),
            retention: DELIVERY_RETENTION,
            lease: Duration::seconds(60),
            max_in_flight: 64,
            max_in_flight_per_endpoint: 4,
            dispatch_batch: 500,
        }
    }
}

impl WebhookSettings {
    /// The rules endpoint URLs follow.
    pub fn url_rules(&self) -> UrlRules {
        UrlRules {
            allow_http: self.allow_http,
            allow_private: self.allow_private,
        }
    }
}

/// A new endpoint.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct NewEndpoint {
    /// Where deliveries go.
    pub url: String,
    /// The types of events it receives (non-empty, distinct).
    pub events: Vec<EventKind>,
    /// A note of the owner's.
    pub description: String,
}

/// A change of an endpoint: each field given replaces the stored one.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EndpointPatch {
    /// A new URL.
    pub url: Option<String>,
    /// New types of events (non-empty, distinct).
    pub events: Option<Vec<EventKind>>,
    /// Enabled or not (enabling clears why it was disabled and its failing streak).
    pub enabled: Option<bool>,
    /// A new description.
    pub description: Option<String>,
}

/// What a dispatch pass did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DispatchReport {
    /// Events read from the log.
    pub events: u64,
    /// Deliveries made (those another pass had made already are not counted).
    pub deliveries: u64,
}

/// What one [`WebhookService::deliver_due`] call did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DeliverReport {
    /// Deliveries claimed and attempted.
    pub attempted: u64,
    /// Deliveries that succeeded.
    pub succeeded: u64,
    /// Deliveries that failed and wait for another attempt.
    pub retrying: u64,
    /// Deliveries given up.
    pub failed: u64,
    /// Deliveries whose outcome was not recorded: another worker took the claim over before
    /// this one finished, or the store failed (the lease lapses and they are attempted again).
    pub lost: u64,
    /// Endpoints disabled.
    pub disabled: u64,
    /// When the oldest delivery claimed was made (none if none was): how far behind delivery
    /// runs (a retried one counts from its first try).
    pub oldest: Option<Timestamp>,
}

/// Counts of what webhook workers of this process did, for metrics
/// (`ecom_webhook_deliveries_total{outcome}`, `ecom_webhook_endpoints_disabled_total`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct WebhookCounts {
    /// Deliveries that succeeded.
    pub succeeded: u64,
    /// Failed attempts that will be retried.
    pub retrying: u64,
    /// Deliveries given up.
    pub failed: u64,
    /// Attempts whose outcome was not recorded (the claim was taken over).
    pub lost: u64,
    /// Endpoints disabled (a `410 Gone`, continuous failure).
    pub endpoints_disabled: u64,
}

impl WebhookCounts {
    /// The delivery counts by outcome name (`succeeded`, `retrying`, `failed`, `lost`).
    pub fn outcomes(&self) -> [(&'static str, u64); 4] {
        [
            ("succeeded", self.succeeded),
            ("retrying", self.retrying),
            ("failed", self.failed),
            ("lost", self.lost),
        ]
    }

    fn add(&mut self, report: &DeliverReport) {
        self.succeeded += report.succeeded;
        self.retrying += report.retrying;
        self.failed += report.failed;
        self.lost += report.lost;
        self.endpoints_disabled += report.disabled;
    }
}

/// The webhook use cases. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WebhookService {
    backend: Backend,
    settings: Arc<WebhookSettings>,
    /// Deliveries this process may still attempt at once.
    in_flight: Arc<Semaphore>,
    counts: Arc<Mutex<WebhookCounts>>,
}

impl WebhookService {
    pub(crate) fn new(backend: Backend, settings: WebhookSettings) -> Self {
        WebhookService {
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
            backend,
            settings: Arc::new(settings),
            counts: Arc::default(),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// What the workers of this process did so far.
    pub fn stats(&self) -> WebhookCounts {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, report: &DeliverReport) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(report);
    }

    /// Registers an endpoint of `owner`, with a new signing secret
    /// ([`Endpoint::current_secret`], to be shown to the owner now). A shop has at most
    /// [`WebhookSettings::max_endpoints_per_shop`] (a conflict beyond; registrations racing
    /// each other may pass it by as many as race).
    pub async fn create(&self, owner: &EndpointOwner, input: NewEndpoint) -> Result<Endpoint> {
        let input = self.checked(input).await?;
        if matches!(owner, EndpointOwner::Shop(_)) {
            let count = self.backend.webhooks.endpoints(owner).await?.len();
            if count >= self.settings.max_endpoints_per_shop {
                return Err(Error::refused(
                    "webhook endpoint",
                    format!(
                        "a shop may have at most {} webhook endpoints",
                        self.settings.max_endpoints_per_shop
                    ),
                ));
            }
        }
        let endpoint = registered(
            EndpointId::generate(),
            owner.clone(),
            input,
            new_secret(),
            self.backend.clock.now(),
        );
        self.backend.webhooks.insert_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    /// `input` with its URL, events and description checked.
    async fn checked(&self, input: NewEndpoint) -> Result<NewEndpoint> {
        Ok(NewEndpoint {
            url: validate_url(&input.url, self.settings.url_rules()).await?,
            events: checked_events(input.events)?,
            description: checked_description(input.description)?,
        })
    }

    /// Ensures the platform endpoint the operator declares (the server's configuration) at
    /// `input.url`: registers it signing with `secret`, or brings the one registered before
    /// up to date (events, description; a changed secret rotates in, the old one signing
    /// beside it for 24 hours). Its enabled state is left as it is: one disabled by failures
    /// or by the operator stays so until enabled. Idempotent, and safe for several servers
    /// starting at once: the endpoint's id is derived from its URL, so racing registrations
    /// meet on one document.
    pub async fn ensure_platform(&self, input: NewEndpoint, secret: &str) -> Result<Endpoint> {
        check_secret(secret)?;
        let input = self.checked(input).await?;
        let (events, description) = (input.events.clone(), input.description.clone());
        let id = declared_endpoint_id(&input.url)?;
        let owner = EndpointOwner::Platform;
        if self.backend.webhooks.endpoint(&id).await?.is_none() {
            let endpoint = registered(
                id.clone(),
                owner.clone(),
                input,
                secret.to_owned(),
                self.backend.clock.now(),
            );
            match self.backend.webhooks.insert_endpoint(&endpoint).await {
                Ok(()) => return Ok(endpoint),
                // Another server registered it first: bring that one up to date.
                Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.change(&owner, &id, |endpoint, now| {
            endpoint.events = events.clone();
            endpoint.description = description.clone();
            if endpoint.current_secret() != Some(secret) {
                endpoint.secrets = endpoint.rotated(secret.to_owned(), now);
            }
        })
        .await
    }

    /// `owner`'s endpoint `id` (not found for anyone else's).
    pub async fn get(&self, owner: &EndpointOwner, id: &EndpointId) -> Result<Endpoint> {
        self.backend
            .webhooks
            .endpoint(id)
            .await?
            .filter(|e| &e.owner == owner)
            .ok_or_else(|| Error::not_found("webhook endpoint"))
    }

    /// `owner`'s endpoints, oldest first.
    pub async fn list(&self, owner: &EndpointOwner) -> Result<Vec<Endpoint>> {
        self.backend.webhooks.endpoints(owner).await
    }

    /// Changes `owner`'s endpoint `id` as `patch` says.
    pub async fn update(
        &self,
        owner: &EndpointOwner,
        id: &EndpointId,
        patch: EndpointPatch,
    ) -> Result<Endpoint> {
        let url = match &patch.url {
            Some(url) => Some(validate_url(url, self.settings.url_rules()).await?),
            None => None,
        };
        let events = patch.events.map(checked_events).transpose()?;
        let description = patch.description.map(checked_description).transpose()?;
        self.change(owner, id, |endpoint, _| {
            if let Some(url) = &url {
                endpoint.url = url.clone();
            }
            if let Some(events) = &events {
                endpoint.events = events.clone();
            }
            if let Some(description) = &description {
                endpoint.description = description.clone();
            }
            if let Some(enabled) = patch.enabled {
                if enabled && !endpoint.enabled {
                    endpoint.disabled_reason = None;
                    endpoint.failing_since = None;
                }
                endpoint.enabled = enabled;
            }
        })
        .await
    }

    /// Deletes `owner`'s endpoint `id` and its deliveries.
    pub async fn delete(&self, owner: &EndpointOwner, id: &EndpointId) -> Result<()> {
        self.get(owner, id).await?;
        self.backend.webhooks.delete_endpoint(id).await?;
        Ok(())
    }

    /// Gives `owner`'s endpoint `id` a new signing secret (its
    /// [`current_secret`](Endpoint::current_secret), to be shown now); the old one keeps
    /// signing beside it for 24 hours, then is dropped.
    pub async fn rotate_secret(&self, owner: &EndpointOwner, id: &EndpointId) -> Result<Endpoint> {
        let secret = new_secret();
        self.change(owner, id, |endpoint, now| {
            endpoint.secrets = endpoint.rotated(secret.clone(), now);
        })
        .await
    }

    /// Sends a `ping` to `owner`'s endpoint `id`: a delivery due now, made like any other.
    pub async fn test(&self, owner: &EndpointOwner, id: &EndpointId) -> Result<Delivery> {
        let endpoint = self.get(owner, id).await?;
        if !endpoint.enabled {
            return Err(Error::refused(
                "webhook endpoint",
                "is disabled; enable it first",
            ));
        }
        let ping = Delivery::ping(&endpoint, self.backend.clock.now());
        self.backend
            .webhooks
            .insert_deliveries(std::slice::from_ref(&ping))
            .await?;
        Ok(ping)
    }

    /// The deliveries of `owner`'s endpoint `id` (with `status`, if given), newest first.
    pub async fn deliveries(
        &self,
        owner: &EndpointOwner,
        id: &EndpointId,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<Vec<Delivery>> {
        self.get(owner, id).await?;
        self.backend.webhooks.deliveries(id, status, page).await
    }

    /// `owner`'s delivery `id` (not found for anyone else's).
    pub async fn delivery(&self, owner: &EndpointOwner, id: &DeliveryId) -> Result<Delivery> {
        self.backend
            .webhooks
            .delivery(id)
            .await?
            .filter(|d| &d.owner == owner)
            .ok_or_else(|| Error::not_found("webhook delivery"))
    }

    /// Makes `owner`'s delivery `id` due now again (a failed one, or a pending one waiting for
    /// its next attempt); a succeeded one is refused.
    pub async fn retry(&self, owner: &EndpointOwner, id: &DeliveryId) -> Result<Delivery> {
        let delivery = self.delivery(owner, id).await?;
        if delivery.status == DeliveryStatus::Succeeded {
            return Err(Error::refused("webhook delivery", "has succeeded already"));
        }
        self.backend
            .webhooks
            .retry(id, self.backend.clock.now())
            .await?
            .ok_or_else(|| Error::not_found("webhook delivery"))
    }

    /// Removes the deliveries finished longer than the retention ago; how many went.
    pub async fn purge(&self) -> Result<u64> {
        let before = self.backend.clock.now() - self.settings.retention;
        self.backend.webhooks.purge(before).await
    }

    /// Reads `owner`'s endpoint `id`, applies `change` (given the time) and writes it at the
    /// version read, again from a fresh read if another write came first.
    async fn change(
        &self,
        owner: &EndpointOwner,
        id: &EndpointId,
        change: impl Fn(&mut Endpoint, crate::clock::Timestamp),
    ) -> Result<Endpoint> {
        for _ in 0..CHANGE_TRIES {
            let mut endpoint = self.get(owner, id).await?;
            let expected = endpoint.version;
            let now = self.backend.clock.now();
            change(&mut endpoint, now);
            endpoint.version = expected + 1;
            endpoint.updated_at = now;
            if self
                .backend
                .webhooks
                .replace_endpoint(&endpoint, expected)
                .await?
            {
                return Ok(endpoint);
            }
        }
        Err(Error::changed("webhook endpoint"))
    }
}

/// A newly registered, enabled endpoint of `owner` made of the checked `input`, signing with
/// `secret`.
fn registered(
    id: EndpointId,
    owner: EndpointOwner,
    input: NewEndpoint,
    secret: String,
    now: Timestamp,
) -> Endpoint {
    Endpoint {
        id,
        owner,
        url: input.url,
        events: input.events,
        description: input.description,
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        secrets: vec![SigningSecret {
            value: secret,
            created_at: now,
            expires_at: None,
        }],
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The id of the platform endpoint declared at `url`: the first 16 bytes of the SHA-256 of
/// the URL, in hex (an id's form).
fn declared_endpoint_id(url: &str) -> Result<EndpointId> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("platform endpoint {url}").as_bytes());
    EndpointId::parse(&hex::encode(&digest[..16]))
}

fn checked_events(mut events: Vec<EventKind>) -> Result<Vec<EventKind>> {
    if events.is_empty() {
        return Err(Error::validation(
            "events",
            "must name at least one event type",
        ));
    }
    let count = events.len();
    events.sort();
    events.dedup();
    if events.len() != count {
        return Err(Error::validation("events", "must not repeat an event type"));
    }
    Ok(events)
}

fn checked_description(description: String) -> Result<String> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::validation(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    Ok(description)
}
