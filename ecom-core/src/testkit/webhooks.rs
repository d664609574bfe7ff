//! Cases for webhooks: each event goes once to each matching endpoint and never to another
//! shop's; platform endpoints get every shop's; dispatch from many tasks makes no duplicate;
//! racing workers never attempt one delivery at once and deliver each once; retries back off;
//! `410` and continuous failure disable; each aggregate's order holds per endpoint; secrets
//! overlap for a day after a rotation; a crashed worker's lease lapses; retention; URL rules.
//!
//! [`FakeTransport`] is the receiver: it answers as a test says, per call, and records every
//! call, with how many ran at once per delivery and per endpoint.

use super::rush;
use crate::backend::Backend;
use crate::clock::{ManualClock, Timestamp};
use crate::error::Error;
use crate::event::{Aggregate, AggregateKind, Cursor, Event, EventKind, Logged};
use crate::id::{DeliveryId, EndpointId, EventId, ShopId};
use crate::page::Page;
use crate::secret::Secret;
use crate::service::{Ecom, EcomConfig, EndpointPatch, NewEndpoint, WebhookSettings};
use crate::webhook::{
    new_secret, sign, signatures, AttemptOutcome, ClaimLimits, Delivery, DeliveryStatus, Endpoint,
    EndpointOwner, WebhookTransport,
};
use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One call the fake receiver got.
#[derive(Clone, Debug)]
pub struct Call {
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint.
    pub endpoint: EndpointId,
    /// The delivery.
    pub delivery: DeliveryId,
    /// The event (none: a ping).
    pub event: Option<EventId>,
    /// The event's aggregate.
    pub aggregate: Option<Aggregate>,
    /// Which call of this delivery it is (1 for the first).
    pub nth: u32,
    /// When it started and ended, in the order of every call's steps.
    pub started: u64,
    /// See `started`.
    pub ended: u64,
    /// What it answered.
    pub status: Option<u16>,
}

/// What the fake receiver answers to one call.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// The HTTP status (none: no answer, like a timeout).
    pub status: Option<u16>,
    /// How long it takes to answer.
    pub delay: std::time::Duration,
}

impl Answer {
    /// `status` at once.
    pub fn status(status: u16) -> Self {
        Answer {
            status: Some(status),
            delay: std::time::Duration::ZERO,
        }
    }

    /// `status` after `ms` milliseconds.
    pub fn slow(status: u16, ms: u64) -> Self {
        Answer {
            status: Some(status),
            delay: std::time::Duration::from_millis(ms),
        }
    }
}

type Script = Box<dyn Fn(&Call) -> Answer + Send + Sync>;

#[derive(Default)]
struct Seen {
    calls: Vec<Call>,
    per_delivery: BTreeMap<DeliveryId, u32>,
    running_delivery: BTreeMap<DeliveryId, u32>,
    running_endpoint: BTreeMap<EndpointId, u32>,
    max_per_delivery: u32,
    max_per_endpoint: u32,
}

/// A receiver answering as its script says, recording every call.
pub struct FakeTransport {
    script: Script,
    seen: Mutex<Seen>,
    steps: AtomicU64,
}

impl std::fmt::Debug for FakeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeTransport")
    }
}

impl FakeTransport {
    /// A receiver answering each call as `script` says.
    pub fn new(script: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(FakeTransport {
            script: Box::new(script),
            seen: Mutex::default(),
            steps: AtomicU64::new(0),
        })
    }

    /// Every call so far, in the order they ended.
    pub fn calls(&self) -> Vec<Call> {
        self.seen.lock().unwrap().calls.clone()
    }

    /// The most calls of one delivery, and of one endpoint, that ran at once.
    pub fn most_at_once(&self) -> (u32, u32) {
        let seen = self.seen.lock().unwrap();
        (seen.max_per_delivery, seen.max_per_endpoint)
    }

    /// Calls answered 2xx.
    pub fn successes(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.calls.iter().filter(|c| ok(c.status)).count()
    }
}

fn ok(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

#[async_trait]
impl WebhookTransport for FakeTransport {
    async fn deliver(
        &self,
        endpoint: &Endpoint,
        delivery: &Delivery,
        event: Option<&Logged>,
        _now: crate::clock::Timestamp,
    ) -> AttemptOutcome {
        let mut call = {
            let mut seen = self.seen.lock().unwrap();
            let nth = seen.per_delivery.entry(delivery.id.clone()).or_default();
            *nth += 1;
            let nth = *nth;
            let d = seen
                .running_delivery
                .entry(delivery.id.clone())
                .or_default();
            *d += 1;
            let d = *d;
            let e = seen
                .running_endpoint
                .entry(endpoint.id.clone())
                .or_default();
            *e += 1;
            let e = *e;
            seen.max_per_delivery = seen.max_per_delivery.max(d);
            seen.max_per_endpoint = seen.max_per_endpoint.max(e);
            Call {
                url: endpoint.url.clone(),
                endpoint: endpoint.id.clone(),
                delivery: delivery.id.clone(),
                event: event.map(|l| l.event.id.clone()),
                aggregate: event.map(|l| l.event.aggregate.clone()),
                nth,
                started: self.steps.fetch_add(1, Ordering::SeqCst),
                ended: 0,
                status: None,
            }
        };
        let answer = (self.script)(&call);
        if !answer.delay.is_zero() {
            tokio::time::sleep(answer.delay).await;
        }
        call.status = answer.status;
        let mut seen = self.seen.lock().unwrap();
        call.ended = self.steps.fetch_add(1, Ordering::SeqCst);
        *seen
            .running_delivery
            .entry(delivery.id.clone())
            .or_default() -= 1;
        *seen
            .running_endpoint
            .entry(endpoint.id.clone())
            .or_default() -= 1;
        seen.calls.push(call);
        AttemptOutcome {
            status: answer.status,
            duration_ms: u64::try_from(answer.delay.as_millis()).unwrap_or(u64::MAX),
            error: None,
        }
    }
}

/// A case's world: services on a manual clock, with the fake receiver.
pub struct Kit {
    pub ecom: Ecom,
    pub clock: Arc<ManualClock>,
    pub transport: Arc<FakeTransport>,
}

impl Kit {
    /// The backend.
    pub fn backend(&self) -> &Backend {
        self.ecom.backend()
    }

    /// The clock's time.
    pub fn now(&self) -> Timestamp {
        crate::clock::Clock::now(self.clock.as_ref())
    }

    /// Registers an endpoint of `owner` at `url` for `events`.
    pub async fn endpoint(
        &self,
        owner: &EndpointOwner,
        url: &str,
        events: &[EventKind],
    ) -> Endpoint {
        self.ecom
            .webhooks
            .create(
                owner,
                NewEndpoint {
                    url: url.to_owned(),
                    events: events.to_vec(),
                    description: "suite".into(),
                },
            )
            .await
            .unwrap()
    }

    /// Logs an event of `kind` concerning `shops` on the order `aggregate` at `version`.
    pub async fn log(
        &self,
        kind: EventKind,
        shops: &[&ShopId],
        aggregate: &str,
        version: u64,
    ) -> EventId {
        let event = Event::new(
            kind,
            self.now(),
            Aggregate {
                kind: AggregateKind::Order,
                id: aggregate.to_owned(),
                version,
            },
            shops.iter().map(|s| (*s).clone()).collect(),
            &serde_json::json!({ "n": version }),
        );
        self.backend()
            .events
            .append(std::slice::from_ref(&event))
            .await
            .unwrap();
        event.id
    }

    /// Dispatches, then runs the worker `worker` until nothing is due now (at most `rounds`).
    pub async fn drain(&self, worker: &str, rounds: u32) {
        self.ecom.webhooks.dispatch_all(100).await.unwrap();
        for _ in 0..rounds {
            let report = self
                .ecom
                .webhooks
                .deliver_due(self.now(), worker)
                .await
                .unwrap();
            if report.attempted == 0 {
                return;
            }
        }
    }

    /// The deliveries of `endpoint` of `owner` (up to 100, newest first).
    pub async fn deliveries(&self, owner: &EndpointOwner, endpoint: &EndpointId) -> Vec<Delivery> {
        self.ecom
            .webhooks
            .deliveries(owner, endpoint, None, Page::offset(0, 100).unwrap())
            .await
            .unwrap()
    }
}

/// A kit on `backend` with `settings` (private and http URLs allowed unless they say) and the
/// receiver `script`.
pub fn kit_with(
    backend: &Backend,
    settings: impl FnOnce(&mut WebhookSettings),
    script: impl Fn(&Call) -> Answer + Send + Sync + 'static,
) -> Kit {
    let start = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let transport = FakeTransport::new(script);
    let mut config = EcomConfig::new(Secret::new(b"conformance-suite-api-key-secret".to_vec()));
    config.webhooks.transport = Some(transport.clone());
    config.webhooks.allow_http = true;
    config.webhooks.allow_private = true;
    settings(&mut config.webhooks);
    let ecom = Ecom::new(backend.clone().with_clock(clock.clone()), config);
    Kit {
        ecom,
        clock,
        transport,
    }
}

/// A kit with the default settings (private and http URLs allowed) and `script`.
pub fn kit(backend: &Backend, script: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> Kit {
    kit_with(backend, |_| {}, script)
}

fn shop_owner() -> (ShopId, EndpointOwner) {
    let shop = ShopId::generate();
    (shop.clone(), EndpointOwner::Shop(shop))
}

fn aggregate_id() -> String {
    crate::id::OrderId::generate().to_string()
}

/// The events each endpoint was called with (successfully), and how often.
fn received(transport: &FakeTransport) -> BTreeMap<EndpointId, BTreeMap<EventId, usize>> {
    let mut got: BTreeMap<EndpointId, BTreeMap<EventId, usize>> = BTreeMap::new();
    for call in transport.calls().into_iter().filter(|c| ok(c.status)) {
        if let Some(event) = call.event {
            *got.entry(call.endpoint)
                .or_default()
                .entry(event)
                .or_default() += 1;
        }
    }
    got
}

pub async fn each_event_reaches_each_matching_endpoint_once(backend: &Backend) {
    let kit = kit(backend, |_| Answer::status(200));
    let ((a, owner_a), (b, owner_b)) = (shop_owner(), shop_owner());
    let a_orders = kit
        .endpoint(&owner_a, "https://a.test/orders", &[EventKind::OrderPlaced])
        .await;
    let a_stock = kit
        .endpoint(&owner_a, "https://a.test/stock", &[EventKind::StockLow])
        .await;
    let b_orders = kit
        .endpoint(
            &owner_b,
            "https://b.test/orders",
            &[EventKind::OrderPlaced, EventKind::OrderPaid],
        )
        .await;
    let platform = kit
        .endpoint(
            &EndpointOwner::Platform,
            "https://ops.test/all",
            &[EventKind::OrderPlaced, EventKind::StockLow],
        )
        .await;
    let a_off = kit
        .endpoint(&owner_a, "https://a.test/off", &[EventKind::OrderPlaced])
        .await;
    let patch = EndpointPatch {
        enabled: Some(false),
        ..EndpointPatch::default()
    };
    kit.ecom
        .webhooks
        .update(&owner_a, &a_off.id, patch)
        .await
        .unwrap();

    let e1 = kit
        .log(EventKind::OrderPlaced, &[&a], &aggregate_id(), 1)
        .await;
    let e2 = kit
        .log(EventKind::OrderPlaced, &[&b], &aggregate_id(), 1)
        .await;
    let e3 = kit
        .log(EventKind::OrderPlaced, &[&a, &b], &aggregate_id(), 1)
        .await;
    let e4 = kit
        .log(EventKind::StockLow, &[&a], &aggregate_id(), 1)
        .await;
    let _e5 = kit
        .log(EventKind::ProductUpdated, &[&a], &aggregate_id(), 1)
        .await;
    let e6 = kit
        .log(EventKind::OrderPaid, &[&b], &aggregate_id(), 1)
        .await;
    kit.drain("w", 50).await;
    // A second pass of everything changes nothing.
    kit.drain("w", 50).await;

    let once = |events: &[&EventId]| -> BTreeMap<EventId, usize> {
        events.iter().map(|e| ((*e).clone(), 1)).collect()
    };
    let mut expected = BTreeMap::new();
    expected.insert(a_orders.id.clone(), once(&[&e1, &e3]));
    expected.insert(a_stock.id.clone(), once(&[&e4]));
    expected.insert(b_orders.id.clone(), once(&[&e2, &e3, &e6]));
    expected.insert(platform.id.clone(), once(&[&e1, &e2, &e3, &e4]));
    assert_eq!(received(&kit.transport), expected, "who received what");
    assert_eq!(kit.transport.calls().len(), 10, "one call per delivery");
    for (owner, endpoint) in [
        (&owner_a, &a_orders),
        (&owner_b, &b_orders),
        (&EndpointOwner::Platform, &platform),
    ] {
        let deliveries = kit.deliveries(owner, &endpoint.id).await;
        assert!(deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Succeeded && d.attempts.len() == 1));
    }
    assert!(kit.deliveries(&owner_a, &a_off.id).await.is_empty());
    // A shop sees only its own endpoints and deliveries.
    let theirs = kit.ecom.webhooks.get(&owner_a, &b_orders.id).await;
    assert!(matches!(theirs, Err(Error::NotFound { .. })), "{theirs:?}");
    let listed = kit.ecom.webhooks.list(&owner_a).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|e| e.owner == owner_a));
    let page = Page::default();
    let theirs = kit
        .ecom
        .webhooks
        .deliveries(&owner_a, &b_orders.id, None, page)
        .await;
    assert!(matches!(theirs, Err(Error::NotFound { .. })), "{theirs:?}");
}

pub async fn dispatch_twice_or_concurrently_makes_no_duplicate(backend: &Backend) {
    let backend = super::interleaved(backend);
    let kit = kit(&backend, |_| Answer::status(200));
    let (shop, owner) = shop_owner();
    let first = kit
        .endpoint(&owner, "https://s.test/1", &[EventKind::OrderPlaced])
        .await;
    let second = kit
        .endpoint(&owner, "https://s.test/2", &EventKind::ALL)
        .await;
    let platform = kit
        .endpoint(
            &EndpointOwner::Platform,
            "https://ops.test/",
            &[EventKind::OrderPlaced],
        )
        .await;
    let mut logged = Vec::new();
    for i in 0..40 {
        logged.push(
            kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), i)
                .await,
        );
    }
    let webhooks = kit.ecom.webhooks.clone();
    let made: u64 = rush(8, |_| {
        let webhooks = webhooks.clone();
        async move { webhooks.dispatch_all(100).await.unwrap() }
    })
    .await
    .into_iter()
    .sum();
    assert_eq!(made, 120, "deliveries made by all the dispatchers together");
    assert_eq!(kit.ecom.webhooks.dispatch_all(100).await.unwrap(), 0);
    let want: BTreeSet<EventId> = logged.into_iter().collect();
    for (owner, endpoint) in [
        (&owner, &first),
        (&owner, &second),
        (&EndpointOwner::Platform, &platform),
    ] {
        let deliveries = kit.deliveries(owner, &endpoint.id).await;
        assert_eq!(deliveries.len(), 40, "deliveries of {:?}", endpoint.url);
        let events: BTreeSet<EventId> = deliveries.iter().map(|d| d.event_id.clone()).collect();
        assert_eq!(events, want);
    }
}

pub async fn racing_workers_deliver_each_delivery_once(backend: &Backend) {
    let kit = Arc::new(kit(backend, |_| Answer::slow(200, 3)));
    let (a, owner_a) = shop_owner();
    let (b, owner_b) = shop_owner();
    kit.endpoint(&owner_a, "https://a.test/", &[EventKind::OrderPlaced])
        .await;
    kit.endpoint(&owner_b, "https://b.test/", &[EventKind::OrderPlaced])
        .await;
    kit.endpoint(
        &EndpointOwner::Platform,
        "https://ops.test/",
        &[EventKind::OrderPlaced],
    )
    .await;
    for i in 0..30 {
        let shop = if i % 2 == 0 { &a } else { &b };
        kit.log(EventKind::OrderPlaced, &[shop], &aggregate_id(), 1)
            .await;
    }
    let expected = 60;
    rush(12, |i| {
        let kit = kit.clone();
        async move {
            for _ in 0..2000 {
                if i % 3 == 0 {
                    kit.ecom.webhooks.dispatch().await.unwrap();
                }
                let worker = format!("worker-{i}");
                let report = kit
                    .ecom
                    .webhooks
                    .deliver_due(kit.now(), &worker)
                    .await
                    .unwrap();
                assert_eq!(
                    report.lost, 0,
                    "no lease lapses on a clock that stands still"
                );
                if kit.transport.successes() >= expected {
                    return;
                }
                if report.attempted == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
        }
    })
    .await;
    let calls = kit.transport.calls();
    assert_eq!(calls.len(), expected, "each delivery attempted once");
    let deliveries: BTreeSet<_> = calls.iter().map(|c| c.delivery.clone()).collect();
    assert_eq!(
        deliveries.len(),
        expected,
        "each delivery succeeded exactly once"
    );
    let (per_delivery, per_endpoint) = kit.transport.most_at_once();
    assert_eq!(
        per_delivery, 1,
        "one delivery attempted by two workers at once"
    );
    let limit = kit.ecom.webhooks.settings().max_in_flight_per_endpoint;
    assert!(
        per_endpoint <= limit,
        "{per_endpoint} calls to one endpoint at once"
    );
}

/// `workers` workers deliver (up to `rounds` claims each) until the transport saw `expected`
/// successes; the first moves the clock by `step` after each of its claims (far less than a
/// lease in every case that calls this), and no claim may lose a result.
async fn workers_race(
    kit: &Arc<Kit>,
    workers: usize,
    rounds: usize,
    expected: usize,
    step: Duration,
) {
    rush(workers, |i| {
        let kit = kit.clone();
        async move {
            for _ in 0..rounds {
                let report = kit
                    .ecom
                    .webhooks
                    .deliver_due(kit.now(), &format!("w{i}"))
                    .await
                    .unwrap();
                assert_eq!(report.lost, 0, "a result refused while no lease lapsed");
                if kit.transport.successes() >= expected {
                    return;
                }
                if i == 0 {
                    kit.clock.advance(step);
                }
                if report.attempted == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        }
    })
    .await;
}

pub async fn claims_given_back_over_the_limit_lose_no_result(backend: &Backend) {
    // One delivery per endpoint at a time, eight workers, first attempts failing with short
    // retries while time moves (far less than a lease): claims keep meeting over the limit and
    // giving deliveries back, and retries come due again, while another claim that read them
    // before takes them. A claim must take only what it read, at the fence it records with.
    let settings = |s: &mut WebhookSettings| {
        s.max_in_flight_per_endpoint = 1;
        s.first_retry = Duration::milliseconds(500);
        s.lease = Duration::days(1);
    };
    let kit = Arc::new(kit_with(backend, settings, |call| {
        Answer::slow(if call.nth == 1 { 500 } else { 200 }, 1)
    }));
    let (shop, owner) = shop_owner();
    kit.endpoint(&owner, "https://one.test/", &[EventKind::OrderPlaced])
        .await;
    for _ in 0..30 {
        kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
            .await;
    }
    kit.ecom.webhooks.dispatch_all(10).await.unwrap();
    let expected = 30;
    workers_race(&kit, 8, 4000, expected, Duration::milliseconds(300)).await;
    assert_eq!(kit.transport.successes(), expected);
    assert_eq!(
        kit.transport.calls().len(),
        2 * expected,
        "each failed once"
    );
    assert_eq!(kit.transport.most_at_once(), (1, 1), "one call at a time");
}

pub async fn a_flaky_receiver_gets_everything_with_backoff(backend: &Backend) {
    // Every second event's deliveries fail three times, then the receiver recovers.
    let kit = kit(backend, |call| {
        let odd = call.aggregate.as_ref().is_some_and(|a| a.version % 2 == 1);
        Answer::status(if odd && call.nth <= 3 { 500 } else { 200 })
    });
    let (shop, owner) = shop_owner();
    let endpoint = kit
        .endpoint(&owner, "https://flaky.test/", &[EventKind::OrderPlaced])
        .await;
    for version in 0..10 {
        kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), version)
            .await;
    }
    kit.drain("w", 20).await;
    let first = kit.deliveries(&owner, &endpoint.id).await;
    assert_eq!(
        first
            .iter()
            .filter(|d| d.status == DeliveryStatus::Succeeded)
            .count(),
        5
    );
    // Each failure waits about twice as long as the one before (10 s, 20 s, 40 s, give or
    // take a fifth).
    let failing: Vec<DeliveryId> = first
        .iter()
        .filter(|d| d.status == DeliveryStatus::Pending)
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(failing.len(), 5);
    for (round, base) in [(1_i64, 10_i64), (2, 20), (3, 40)] {
        let mut latest = kit.now();
        for id in &failing {
            let d = kit.ecom.webhooks.delivery(&owner, id).await.unwrap();
            assert_eq!(d.status, DeliveryStatus::Pending);
            assert_eq!(d.attempts.len() as i64, round);
            let waited = d.next_try_at - d.attempts.last().unwrap().at;
            assert!(
                waited >= Duration::milliseconds(base * 800)
                    && waited <= Duration::milliseconds(base * 1200),
                "wait after failure {round}: {waited}"
            );
            latest = latest.max(d.next_try_at);
        }
        // Not due before its time.
        assert_eq!(
            kit.ecom
                .webhooks
                .deliver_due(kit.now(), "w")
                .await
                .unwrap()
                .attempted,
            0
        );
        kit.clock.set(latest);
        kit.drain("w", 20).await;
    }
    let all = kit.deliveries(&owner, &endpoint.id).await;
    assert!(
        all.iter().all(|d| d.status == DeliveryStatus::Succeeded),
        "{all:?}"
    );
    for id in &failing {
        let d = kit.ecom.webhooks.delivery(&owner, id).await.unwrap();
        let statuses: Vec<Option<u16>> = d.attempts.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [Some(500), Some(500), Some(500), Some(200)]);
        assert!(d.attempts.windows(2).all(|w| w[0].at < w[1].at));
        assert!(d.attempts[..3].iter().all(|a| a.error.is_some()));
    }
    let counts = kit.ecom.webhooks.stats();
    assert_eq!((counts.succeeded, counts.retrying), (10, 15));
    assert!(kit
        .ecom
        .webhooks
        .get(&owner, &endpoint.id)
        .await
        .unwrap()
        .failing_since
        .is_none());
}

pub async fn gone_disables_the_endpoint(backend: &Backend) {
    let kit = kit(backend, |call| {
        Answer::status(if call.url.contains("gone") { 410 } else { 200 })
    });
    let (shop, owner) = shop_owner();
    let gone = kit
        .endpoint(&owner, "https://gone.test/", &[EventKind::OrderPlaced])
        .await;
    let fine = kit
        .endpoint(&owner, "https://fine.test/", &[EventKind::OrderPlaced])
        .await;
    kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
        .await;
    kit.drain("w", 10).await;
    let endpoint = kit.ecom.webhooks.get(&owner, &gone.id).await.unwrap();
    assert!(!endpoint.enabled);
    assert!(endpoint
        .disabled_reason
        .as_deref()
        .unwrap_or_default()
        .contains("410"));
    let failed = kit.deliveries(&owner, &gone.id).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, DeliveryStatus::Failed);
    assert_eq!(failed[0].attempts.len(), 1);
    assert_eq!(
        kit.deliveries(&owner, &fine.id).await[0].status,
        DeliveryStatus::Succeeded
    );
    assert_eq!(kit.ecom.webhooks.stats().endpoints_disabled, 1);
    // A disabled endpoint gets no more deliveries, and cannot be pinged.
    kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
        .await;
    kit.drain("w", 10).await;
    assert_eq!(kit.deliveries(&owner, &gone.id).await.len(), 1);
    assert_eq!(kit.deliveries(&owner, &fine.id).await.len(), 2);
    let ping = kit.ecom.webhooks.test(&owner, &gone.id).await;
    assert!(matches!(ping, Err(Error::Conflict { .. })), "{ping:?}");
    // Enabling it again clears the reason.
    let patch = EndpointPatch {
        enabled: Some(true),
        ..EndpointPatch::default()
    };
    let back = kit
        .ecom
        .webhooks
        .update(&owner, &gone.id, patch)
        .await
        .unwrap();
    assert!(back.enabled && back.disabled_reason.is_none());
}

pub async fn continuous_failure_disables_after_the_period(backend: &Backend) {
    let kit = kit(backend, |call| {
        Answer::status(if call.url.contains("down") {
            500
        } else if call.nth == 1 {
            503
        } else {
            200
        })
    });
    let (shop, owner) = shop_owner();
    let down = kit
        .endpoint(&owner, "https://down.test/", &[EventKind::OrderPlaced])
        .await;
    let blip = kit
        .endpoint(&owner, "https://blip.test/", &[EventKind::OrderPlaced])
        .await;
    let start = kit.now();
    let disable_after = kit.ecom.webhooks.settings().disable_after;
    let mut disabled_at = None;
    for _ in 0..(3 * 24 / 3) {
        kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
            .await;
        for _ in 0..6 {
            kit.drain("w", 10).await;
            kit.clock.advance(Duration::minutes(30));
        }
        let endpoint = kit.ecom.webhooks.get(&owner, &down.id).await.unwrap();
        assert_eq!(
            endpoint.failing_since,
            Some(start),
            "failing since the first failure"
        );
        if !endpoint.enabled {
            let reason = endpoint.disabled_reason.unwrap();
            assert!(reason.contains("failed since"), "{reason}");
            disabled_at = Some(kit.now());
            break;
        }
    }
    let disabled_at = disabled_at.expect("a failing endpoint is disabled");
    assert!(
        disabled_at - start >= disable_after,
        "disabled after {}",
        disabled_at - start
    );
    assert!(disabled_at - start <= disable_after + Duration::hours(3));
    // The endpoint that failed once and then succeeded is not failing.
    let blip = kit.ecom.webhooks.get(&owner, &blip.id).await.unwrap();
    assert!(blip.enabled && blip.failing_since.is_none(), "{blip:?}");
    assert!(kit
        .deliveries(&owner, &blip.id)
        .await
        .iter()
        .all(|d| d.status == DeliveryStatus::Succeeded));
    // Its pending deliveries are given up when their turn comes.
    kit.clock.advance(Duration::days(2));
    kit.drain("w", 50).await;
    let left = kit.deliveries(&owner, &down.id).await;
    assert!(
        left.iter().all(|d| d.status == DeliveryStatus::Failed),
        "{left:?}"
    );
}

pub async fn each_aggregate_keeps_its_order_per_endpoint(backend: &Backend) {
    // A third of the deliveries fail their first attempt; four workers race, time moves (by
    // far less than a lease while an attempt lasts, as the transport's timeout ensures).
    let long_lease = |s: &mut WebhookSettings| s.lease = Duration::days(1);
    let kit = Arc::new(kit_with(backend, long_lease, |call| {
        let fails = call
            .aggregate
            .as_ref()
            .is_some_and(|a| (a.version + a.id.len() as u64) % 3 == 0);
        Answer::slow(if fails && call.nth == 1 { 500 } else { 200 }, 1)
    }));
    let (shop, owner) = shop_owner();
    kit.endpoint(
        &owner,
        "https://one.test/",
        &[EventKind::OrderPlaced, EventKind::OrderPaid],
    )
    .await;
    kit.endpoint(
        &EndpointOwner::Platform,
        "https://two.test/",
        &[EventKind::OrderPlaced, EventKind::OrderPaid],
    )
    .await;
    let aggregates: Vec<String> = (0..4).map(|_| aggregate_id()).collect();
    for version in 1..=8 {
        for id in &aggregates {
            let kind = if version % 2 == 0 {
                EventKind::OrderPaid
            } else {
                EventKind::OrderPlaced
            };
            kit.log(kind, &[&shop], id, version).await;
        }
    }
    kit.ecom.webhooks.dispatch_all(10).await.unwrap();
    let expected = 2 * 4 * 8;
    workers_race(&kit, 4, 3000, expected, Duration::seconds(5)).await;
    let calls = kit.transport.calls();
    assert_eq!(
        kit.transport.successes(),
        expected,
        "every delivery succeeded"
    );
    assert!(calls.len() > expected, "some failed first");
    assert_eq!(
        kit.transport.most_at_once().0,
        1,
        "one delivery attempted twice at once"
    );
    // A call for version v starts only after every lower version of its aggregate succeeded
    // at that endpoint.
    for call in &calls {
        let agg = call.aggregate.as_ref().unwrap();
        for before in (1..agg.version).collect::<Vec<_>>() {
            let done = calls.iter().find(|c| {
                c.endpoint == call.endpoint
                    && ok(c.status)
                    && c.aggregate
                        .as_ref()
                        .is_some_and(|a| a.id == agg.id && a.version == before)
            });
            let done =
                done.unwrap_or_else(|| panic!("version {before} of {} never succeeded", agg.id));
            assert!(
                done.ended < call.started,
                "version {} started before version {before} succeeded",
                agg.version
            );
        }
    }
}

pub async fn rotated_secrets_sign_for_a_day(backend: &Backend) {
    let kit = kit(backend, |_| Answer::status(200));
    let (_, owner) = shop_owner();
    let (_, stranger) = shop_owner();
    let endpoint = kit
        .endpoint(&owner, "https://s.test/", &[EventKind::OrderPlaced])
        .await;
    let old = endpoint.current_secret().unwrap().to_owned();
    assert!(old.starts_with("whsec_"));
    let body = br#"{"type":"order.placed"}"#;
    let signed = |e: &Endpoint, now| signatures(e, now, "msg_1", 1_614_265_330, body);
    assert_eq!(
        signed(&endpoint, kit.now()),
        sign(&old, "msg_1", 1_614_265_330, body)
    );

    let theirs = kit
        .ecom
        .webhooks
        .rotate_secret(&stranger, &endpoint.id)
        .await;
    assert!(matches!(theirs, Err(Error::NotFound { .. })), "{theirs:?}");
    let rotated = kit
        .ecom
        .webhooks
        .rotate_secret(&owner, &endpoint.id)
        .await
        .unwrap();
    let new = rotated.current_secret().unwrap().to_owned();
    assert_ne!(new, old);
    let both = format!(
        "{} {}",
        sign(&new, "msg_1", 1_614_265_330, body),
        sign(&old, "msg_1", 1_614_265_330, body)
    );
    let stored = kit.ecom.webhooks.get(&owner, &endpoint.id).await.unwrap();
    assert_eq!(
        signed(&stored, kit.now()),
        both,
        "both sign right after the rotation"
    );
    kit.clock.advance(Duration::hours(23));
    assert_eq!(signed(&stored, kit.now()), both, "both sign for a day");
    kit.clock.advance(Duration::hours(1) + Duration::seconds(1));
    assert_eq!(
        signed(&stored, kit.now()),
        sign(&new, "msg_1", 1_614_265_330, body),
        "then only the new"
    );
    // The next rotation drops the expired secret.
    let again = kit
        .ecom
        .webhooks
        .rotate_secret(&owner, &endpoint.id)
        .await
        .unwrap();
    assert_eq!(again.secrets.len(), 2);
    assert!(again.secrets.iter().all(|s| s.value != old));
    assert_eq!(again.secrets[0].value, new);
}

pub async fn a_crashed_workers_lease_lapses(backend: &Backend) {
    let kit = kit(backend, |_| Answer::status(200));
    let (shop, owner) = shop_owner();
    let endpoint = kit
        .endpoint(&owner, "https://s.test/", &[EventKind::OrderPlaced])
        .await;
    kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
        .await;
    kit.ecom.webhooks.dispatch_all(10).await.unwrap();
    // A worker claims the delivery and dies before it finishes.
    let lease = kit.ecom.webhooks.settings().lease;
    let limits = ClaimLimits {
        max: 10,
        per_endpoint: 4,
    };
    let now = kit.now();
    let taken = kit
        .backend()
        .webhooks
        .claim(now, "crashed", now + lease, limits)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let mut stale = taken[0].clone();
    assert_eq!(stale.lease.as_ref().unwrap().holder, "crashed");
    // Nobody else takes it while its lease lasts.
    assert_eq!(
        kit.ecom
            .webhooks
            .deliver_due(kit.now(), "alive")
            .await
            .unwrap()
            .attempted,
        0
    );
    kit.clock.advance(lease - Duration::seconds(1));
    assert_eq!(
        kit.ecom
            .webhooks
            .deliver_due(kit.now(), "alive")
            .await
            .unwrap()
            .attempted,
        0
    );
    kit.clock.advance(Duration::seconds(1));
    let report = kit
        .ecom
        .webhooks
        .deliver_due(kit.now(), "alive")
        .await
        .unwrap();
    assert_eq!((report.attempted, report.succeeded), (1, 1));
    // The crashed worker coming back cannot write over its successor's result.
    stale.status = DeliveryStatus::Failed;
    let fence = stale.fence;
    assert_eq!(
        kit.backend()
            .webhooks
            .finish_many(&[(stale, fence)])
            .await
            .unwrap(),
        vec![false]
    );
    let stored = kit.deliveries(&owner, &endpoint.id).await;
    assert_eq!(stored[0].status, DeliveryStatus::Succeeded);
    assert_eq!(stored[0].fence, fence + 1);
    assert_eq!(kit.transport.calls().len(), 1);
}

pub async fn retention_purges_only_old_finished_deliveries(backend: &Backend) {
    let kit = kit(backend, |call| {
        Answer::status(match call.url.as_str() {
            u if u.contains("gone") => 410,
            u if u.contains("down") => 500,
            _ => 200,
        })
    });
    let (shop, owner) = shop_owner();
    let fine = kit
        .endpoint(&owner, "https://fine.test/", &[EventKind::OrderPlaced])
        .await;
    let gone = kit
        .endpoint(&owner, "https://gone.test/", &[EventKind::OrderPlaced])
        .await;
    let down = kit
        .endpoint(&owner, "https://down.test/", &[EventKind::OrderPlaced])
        .await;
    kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
        .await;
    kit.drain("w", 10).await;
    let old_ok = kit.deliveries(&owner, &fine.id).await[0].clone();
    let old_failed = kit.deliveries(&owner, &gone.id).await[0].clone();
    let pending = kit.deliveries(&owner, &down.id).await[0].clone();
    assert_eq!(old_failed.status, DeliveryStatus::Failed);
    kit.clock
        .advance(kit.ecom.webhooks.settings().retention + Duration::hours(1));
    kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
        .await;
    kit.ecom.webhooks.dispatch_all(10).await.unwrap();
    let report = kit.ecom.webhooks.deliver_due(kit.now(), "w").await.unwrap();
    assert!(report.succeeded >= 1);
    let recent = kit.deliveries(&owner, &fine.id).await[0].clone();
    assert_eq!(recent.status, DeliveryStatus::Succeeded);
    assert_eq!(kit.ecom.webhooks.purge().await.unwrap(), 2);
    let gone_now = kit.ecom.webhooks.delivery(&owner, &old_ok.id).await;
    assert!(
        matches!(gone_now, Err(Error::NotFound { .. })),
        "{gone_now:?}"
    );
    let gone_now = kit.ecom.webhooks.delivery(&owner, &old_failed.id).await;
    assert!(
        matches!(gone_now, Err(Error::NotFound { .. })),
        "{gone_now:?}"
    );
    kit.ecom
        .webhooks
        .delivery(&owner, &recent.id)
        .await
        .unwrap();
    let still = kit
        .ecom
        .webhooks
        .delivery(&owner, &pending.id)
        .await
        .unwrap();
    assert_ne!(still.status, DeliveryStatus::Succeeded);
    assert_eq!(kit.ecom.webhooks.purge().await.unwrap(), 0);
}

pub async fn endpoint_urls_and_limits_are_checked(backend: &Backend) {
    let strict = kit_with(
        backend,
        |s| {
            s.allow_http = false;
            s.allow_private = false;
        },
        |_| Answer::status(200),
    );
    let (_, owner) = shop_owner();
    let new = |url: &str, events: Vec<EventKind>| NewEndpoint {
        url: url.to_owned(),
        events,
        description: String::new(),
    };
    let placed = || vec![EventKind::OrderPlaced];
    for url in [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://192.168.0.10:8443/hook",
        "https://localhost/hook",
        "http://93.184.215.14/hook",
    ] {
        let refused = strict
            .ecom
            .webhooks
            .create(&owner, new(url, placed()))
            .await;
        assert!(
            matches!(&refused, Err(Error::Validation { field, .. }) if field == "url"),
            "{url}: {refused:?}"
        );
    }
    for (events, what) in [
        (vec![], "no events"),
        (vec![EventKind::OrderPaid, EventKind::OrderPaid], "a repeat"),
    ] {
        let refused = strict
            .ecom
            .webhooks
            .create(&owner, new("https://93.184.215.14/", events))
            .await;
        assert!(
            matches!(&refused, Err(Error::Validation { field, .. }) if field == "events"),
            "{what}: {refused:?}"
        );
    }
    let public = strict
        .ecom
        .webhooks
        .create(&owner, new("https://93.184.215.14/hook", placed()))
        .await
        .unwrap();
    let patch = EndpointPatch {
        url: Some("https://10.0.0.1/".into()),
        ..EndpointPatch::default()
    };
    let refused = strict.ecom.webhooks.update(&owner, &public.id, patch).await;
    assert!(
        matches!(refused, Err(Error::Validation { .. })),
        "{refused:?}"
    );
    assert_eq!(strict.ecom.webhooks.list(&owner).await.unwrap().len(), 1);

    // With private addresses (and http) allowed, the operator's tests may use them.
    let open = kit(backend, |_| Answer::status(200));
    let (_, owner) = shop_owner();
    open.ecom
        .webhooks
        .create(&owner, new("http://127.0.0.1:9000/hook", placed()))
        .await
        .unwrap();
    open.ecom
        .webhooks
        .create(&owner, new("https://[::1]/hook", placed()))
        .await
        .unwrap();
    let max = open.ecom.webhooks.settings().max_endpoints_per_shop;
    for i in 2..max {
        open.ecom
            .webhooks
            .create(&owner, new(&format!("https://s.test/{i}"), placed()))
            .await
            .unwrap();
    }
    let over = open
        .ecom
        .webhooks
        .create(&owner, new("https://s.test/over", placed()))
        .await;
    assert!(matches!(over, Err(Error::Conflict { .. })), "{over:?}");
    assert_eq!(open.ecom.webhooks.list(&owner).await.unwrap().len(), max);
    // Another shop's endpoint is not found for any change.
    let (_, stranger) = shop_owner();
    let mine = open.ecom.webhooks.list(&owner).await.unwrap()[0].clone();
    let patch = EndpointPatch::default();
    assert!(matches!(
        open.ecom.webhooks.update(&stranger, &mine.id, patch).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        open.ecom.webhooks.delete(&stranger, &mine.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        open.ecom.webhooks.test(&stranger, &mine.id).await,
        Err(Error::NotFound { .. })
    ));
    open.ecom.webhooks.delete(&owner, &mine.id).await.unwrap();
    assert_eq!(
        open.ecom.webhooks.list(&owner).await.unwrap().len(),
        max - 1
    );
}

pub async fn retries_pings_and_lists_are_the_owners(backend: &Backend) {
    let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answer = up.clone();
    let kit = kit_with(
        backend,
        |s| s.max_attempts = 2,
        move |_| {
            Answer::status(if answer.load(Ordering::SeqCst) {
                200
            } else {
                500
            })
        },
    );
    let (shop, owner) = shop_owner();
    let (_, stranger) = shop_owner();
    let endpoint = kit
        .endpoint(&owner, "https://s.test/", &[EventKind::OrderPlaced])
        .await;
    for _ in 0..5 {
        kit.log(EventKind::OrderPlaced, &[&shop], &aggregate_id(), 1)
            .await;
    }
    kit.drain("w", 10).await;
    kit.clock.advance(Duration::minutes(1));
    kit.drain("w", 10).await;
    let page = |skip, limit| Page::offset(skip, limit).unwrap();
    let list = |status, p| {
        kit.ecom
            .webhooks
            .deliveries(&owner, &endpoint.id, status, p)
    };
    let failed = list(Some(DeliveryStatus::Failed), page(0, 100))
        .await
        .unwrap();
    assert_eq!(failed.len(), 5, "given up after two attempts");
    assert!(failed.iter().all(|d| d.attempts.len() == 2));
    assert_eq!(kit.ecom.webhooks.stats().failed, 5);
    // A retry makes one due now again; nobody else's retry reaches it.
    up.store(true, Ordering::SeqCst);
    let theirs = kit.ecom.webhooks.retry(&stranger, &failed[0].id).await;
    assert!(matches!(theirs, Err(Error::NotFound { .. })), "{theirs:?}");
    let again = kit
        .ecom
        .webhooks
        .retry(&owner, &failed[0].id)
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.next_try_at),
        (DeliveryStatus::Pending, kit.now())
    );
    kit.drain("w", 10).await;
    let done = kit
        .ecom
        .webhooks
        .delivery(&owner, &failed[0].id)
        .await
        .unwrap();
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    assert_eq!(done.attempts.len(), 3);
    let refused = kit.ecom.webhooks.retry(&owner, &failed[0].id).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    // A ping is a delivery like any other, without an event.
    let ping = kit.ecom.webhooks.test(&owner, &endpoint.id).await.unwrap();
    kit.drain("w", 10).await;
    let pinged = kit.ecom.webhooks.delivery(&owner, &ping.id).await.unwrap();
    assert_eq!(
        (pinged.status, pinged.event_kind),
        (DeliveryStatus::Succeeded, None)
    );
    assert!(kit
        .transport
        .calls()
        .iter()
        .any(|c| c.delivery == ping.id && c.event.is_none()));
    // Lists page newest first, filtered by status.
    let all = list(None, page(0, 100)).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let paged: Vec<DeliveryId> = [
        list(None, page(0, 4)).await.unwrap(),
        list(None, page(4, 4)).await.unwrap(),
    ]
    .concat()
    .into_iter()
    .map(|d| d.id)
    .collect();
    assert_eq!(paged, all.iter().map(|d| d.id.clone()).collect::<Vec<_>>());
    assert_eq!(
        list(Some(DeliveryStatus::Succeeded), page(0, 100))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        list(Some(DeliveryStatus::Failed), page(0, 100))
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        list(Some(DeliveryStatus::Pending), page(0, 100))
            .await
            .unwrap()
            .len(),
        0
    );
    let theirs = kit
        .ecom
        .webhooks
        .deliveries(&stranger, &endpoint.id, None, page(0, 10))
        .await;
    assert!(matches!(theirs, Err(Error::NotFound { .. })), "{theirs:?}");
    let _ = Cursor(0);
}

/// The operator's declared platform endpoints (server configuration): ensuring one is
/// idempotent even when several servers start at once, it signs with the declared secret, a
/// changed declaration updates it (a new secret rotates in), an endpoint disabled since
/// stays disabled, and a bad declaration changes nothing.
pub async fn declared_platform_endpoints_are_ensured_once(backend: &Backend) {
    let kit = kit(backend, |_| Answer::status(200));
    let url = format!("https://erp.test/{}", EndpointId::generate());
    let secret = new_secret();
    let declared = |events: &[EventKind], description: &str| NewEndpoint {
        url: url.clone(),
        events: events.to_vec(),
        description: description.to_owned(),
    };
    let racers = (0..8).map(|_| {
        let webhooks = kit.ecom.webhooks.clone();
        let (input, secret) = (declared(&[EventKind::OrderPlaced], "ERP"), secret.clone());
        tokio::spawn(async move { webhooks.ensure_platform(input, &secret).await })
    });
    let ensured: Vec<Endpoint> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap())
        .collect();
    let id = ensured[0].id.clone();
    assert!(
        ensured.iter().all(|e| e.id == id),
        "one endpoint for the URL"
    );
    let platform = EndpointOwner::Platform;
    let at_url = |list: Vec<Endpoint>| list.into_iter().filter(|e| e.url == url).count();
    assert_eq!(at_url(kit.ecom.webhooks.list(&platform).await.unwrap()), 1);
    let stored = kit.ecom.webhooks.get(&platform, &id).await.unwrap();
    assert_eq!(stored.current_secret(), Some(secret.as_str()));
    let body = br#"{"type":"order.placed"}"#;
    assert_eq!(
        signatures(&stored, kit.now(), "msg_1", 1_614_265_330, body),
        sign(&secret, "msg_1", 1_614_265_330, body)
    );

    // A changed declaration: new events and description, the same secret.
    let events = [EventKind::OrderPaid, EventKind::OrderPlaced];
    let changed = kit
        .ecom
        .webhooks
        .ensure_platform(declared(&events, "ERP bookings"), &secret)
        .await
        .unwrap();
    assert_eq!(changed.id, id);
    let mut expected = events.to_vec();
    expected.sort();
    assert_eq!(changed.events, expected);
    assert_eq!(changed.description, "ERP bookings");
    assert_eq!(changed.secrets.len(), 1, "the same secret does not rotate");

    // A new secret rotates in; the old one signs beside it for a day.
    let newer = new_secret();
    let rotated = kit
        .ecom
        .webhooks
        .ensure_platform(declared(&events, "ERP bookings"), &newer)
        .await
        .unwrap();
    assert_eq!(rotated.current_secret(), Some(newer.as_str()));
    assert_eq!(
        signatures(&rotated, kit.now(), "msg_1", 1_614_265_330, body),
        format!(
            "{} {}",
            sign(&newer, "msg_1", 1_614_265_330, body),
            sign(&secret, "msg_1", 1_614_265_330, body)
        )
    );

    // Disabled since: a restart's ensure leaves it disabled.
    let patch = EndpointPatch {
        enabled: Some(false),
        ..EndpointPatch::default()
    };
    kit.ecom
        .webhooks
        .update(&platform, &id, patch)
        .await
        .unwrap();
    let again = kit
        .ecom
        .webhooks
        .ensure_platform(declared(&events, "ERP bookings"), &newer)
        .await
        .unwrap();
    assert!(!again.enabled);

    // Bad declarations are refused and register nothing.
    let other = format!("https://other.test/{}", EndpointId::generate());
    for (url, events, secret) in [
        (
            other.clone(),
            vec![EventKind::OrderPlaced],
            "whsec_short".to_owned(),
        ),
        (
            other.clone(),
            vec![EventKind::OrderPlaced],
            "plain text secret".to_owned(),
        ),
        (other.clone(), vec![], new_secret()),
        (
            format!("ftp://x.test/{}", EndpointId::generate()),
            vec![EventKind::OrderPlaced],
            new_secret(),
        ),
    ] {
        let input = NewEndpoint {
            url,
            events,
            description: String::new(),
        };
        let refused = kit.ecom.webhooks.ensure_platform(input, &secret).await;
        assert!(
            matches!(refused, Err(Error::Validation { .. })),
            "{refused:?}"
        );
    }
    let all = kit.ecom.webhooks.list(&platform).await.unwrap();
    assert!(all
        .iter()
        .all(|e| !e.url.starts_with("https://other.test/") && !e.url.starts_with("ftp://")));
}
