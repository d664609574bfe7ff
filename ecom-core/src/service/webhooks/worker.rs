//! Workers: attempts of due deliveries, under a lease and a fence, with backoff.

use super::{DeliverReport, WebhookService};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::Logged;
use crate::id::{EndpointId, EventId};
use crate::webhook::{
    Attempt, AttemptOutcome, ClaimLimits, Delivery, DeliveryStatus, Endpoint, WebhookTransport,
};
use chrono::Duration;
use rand::Rng;
use std::collections::HashMap;

/// What became of one claimed delivery.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Succeeded,
    Retrying,
    Failed,
}

/// What an attempt says about its endpoint.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// Nothing (the delivery was given up without an attempt).
    None,
    /// The receiver failed (no answer, or neither 2xx nor 410).
    Failing,
    /// The receiver answered 2xx.
    Alive,
    /// The receiver answered `410 Gone`.
    Gone,
}

/// One attempted (or given up) delivery, ready to be recorded.
struct Done {
    delivery: Delivery,
    fence: u64,
    fate: Fate,
    verdict: Verdict,
}

impl WebhookService {
    /// Claims the deliveries due at `now` for `worker_id` (at most the free share of
    /// [`max_in_flight`](super::WebhookSettings::max_in_flight) of this process, and
    /// [`max_in_flight_per_endpoint`](super::WebhookSettings::max_in_flight_per_endpoint) per
    /// endpoint over all workers), attempts them concurrently through the transport and
    /// records the attempts together: a 2xx succeeds; a `410 Gone` disables the endpoint and
    /// gives the delivery up; anything else is retried with exponential backoff and jitter
    /// until [`max_attempts`](super::WebhookSettings::max_attempts), and an endpoint that
    /// failed every attempt for [`disable_after`](super::WebhookSettings::disable_after) is
    /// disabled.
    ///
    /// A claim is a lease with a fence: two workers (or processes) never attempt one delivery
    /// at once, a worker that dies holding one only delays it until the lease lapses, and a
    /// worker whose lease lapsed cannot record over its successor. One endpoint's deliveries of
    /// one aggregate are attempted in log order, each only after the one before it succeeded
    /// or was given up. The store is read and written a fixed number of times per claim, not
    /// per delivery: the claim, the endpoints and events it needs, the results, and each
    /// endpoint's health once.
    pub async fn deliver_due(&self, now: Timestamp, worker_id: &str) -> Result<DeliverReport> {
        let transport =
            self.settings.transport.clone().ok_or_else(|| {
                Error::Unavailable("no webhook transport is configured".to_owned())
            })?;
        let mut permits = Vec::new();
        while let Ok(permit) = self.in_flight.clone().try_acquire_owned() {
            permits.push(permit);
        }
        if permits.is_empty() {
            return Ok(DeliverReport::default());
        }
        let limits = ClaimLimits {
            max: u32::try_from(permits.len()).unwrap_or(u32::MAX),
            per_endpoint: self.settings.max_in_flight_per_endpoint,
        };
        let until = now + self.settings.lease;
        let claimed = self
            .backend
            .webhooks
            .claim(now, worker_id, until, limits)
            .await?;
        permits.truncate(claimed.len());
        let oldest = claimed.iter().map(|d| d.created_at).min();
        let (endpoints, events) = self.context_of(&claimed).await?;
        let attempts = claimed.into_iter().map(|delivery| {
            let endpoint = endpoints.get(&delivery.endpoint_id);
            let event = events.get(&delivery.event_id);
            self.attempt(transport.as_ref(), delivery, endpoint, event, now)
        });
        let done = futures::future::join_all(attempts).await;
        drop(permits);
        let finished: Vec<(Delivery, u64)> =
            done.iter().map(|d| (d.delivery.clone(), d.fence)).collect();
        // On an error nothing below is recorded: the leases lapse and the deliveries are
        // attempted again.
        let stored = self.backend.webhooks.finish_many(&finished).await?;
        let mut report = DeliverReport {
            oldest,
            ..DeliverReport::default()
        };
        let mut verdicts: HashMap<&EndpointId, Verdict> = HashMap::new();
        for (done, stored) in done.iter().zip(stored) {
            if !stored {
                report.lost += 1;
                continue;
            }
            report.attempted += 1;
            match done.fate {
                Fate::Succeeded => report.succeeded += 1,
                Fate::Retrying => report.retrying += 1,
                Fate::Failed => report.failed += 1,
            }
            let verdict = verdicts
                .entry(&done.delivery.endpoint_id)
                .or_insert(Verdict::None);
            *verdict = (*verdict).max(done.verdict);
        }
        for (id, verdict) in verdicts {
            if let Some(endpoint) = endpoints.get(id) {
                report.disabled += u64::from(self.judge(endpoint, verdict, now).await?);
            }
        }
        self.count(&report);
        Ok(report)
    }

    /// The endpoints and the logged events of `claimed`, each read once.
    async fn context_of(
        &self,
        claimed: &[Delivery],
    ) -> Result<(HashMap<EndpointId, Endpoint>, HashMap<EventId, Logged>)> {
        let mut endpoints = HashMap::new();
        for delivery in claimed {
            if !endpoints.contains_key(&delivery.endpoint_id) {
                if let Some(e) = self
                    .backend
                    .webhooks
                    .endpoint(&delivery.endpoint_id)
                    .await?
                {
                    endpoints.insert(e.id.clone(), e);
                }
            }
        }
        let wanted: Vec<EventId> = claimed
            .iter()
            .filter(|d| !d.is_ping())
            .map(|d| d.event_id.clone())
            .collect();
        let events = self
            .backend
            .events
            .get_many(&wanted)
            .await?
            .into_iter()
            .map(|l| (l.event.id.clone(), l))
            .collect();
        Ok((endpoints, events))
    }

    /// One attempt of a claimed `delivery` to `endpoint` (none: deleted) carrying `event`
    /// (none for a ping, or when it left the log), not yet recorded.
    async fn attempt(
        &self,
        transport: &dyn WebhookTransport,
        mut delivery: Delivery,
        endpoint: Option<&Endpoint>,
        event: Option<&Logged>,
        now: Timestamp,
    ) -> Done {
        let endpoint = match endpoint {
            Some(e) if e.enabled => e,
            Some(_) => return give_up(delivery, now, "the endpoint is disabled"),
            None => return give_up(delivery, now, "the endpoint was deleted"),
        };
        if !delivery.is_ping() && event.is_none() {
            return give_up(delivery, now, "the event is no longer in the log");
        }
        let fence = delivery.fence;
        let outcome = transport.deliver(endpoint, &delivery, event, now).await;
        let status = outcome.status;
        delivery.record(attempt_of(now, outcome));
        delivery.lease = None;
        let (fate, verdict) = match status {
            Some(200..=299) => (Fate::Succeeded, Verdict::Alive),
            Some(410) => (Fate::Failed, Verdict::Gone),
            _ if delivery.attempt_count >= self.settings.max_attempts => {
                (Fate::Failed, Verdict::Failing)
            }
            _ => (Fate::Retrying, Verdict::Failing),
        };
        match fate {
            Fate::Succeeded => {
                delivery.status = DeliveryStatus::Succeeded;
                delivery.finished_at = Some(now);
            }
            Fate::Failed => {
                delivery.status = DeliveryStatus::Failed;
                delivery.finished_at = Some(now);
            }
            Fate::Retrying => {
                delivery.next_try_at = now + self.backoff(delivery.attempt_count);
            }
        }
        Done {
            delivery,
            fence,
            fate,
            verdict,
        }
    }

    /// Records what one claim's attempts say about `endpoint`: a `410 Gone` disables it; a
    /// success clears its failing streak; failures alone extend it, and disable it once it
    /// has failed every attempt for the configured period. Whether it was disabled.
    async fn judge(&self, endpoint: &Endpoint, verdict: Verdict, now: Timestamp) -> Result<bool> {
        let webhooks = &self.backend.webhooks;
        match verdict {
            Verdict::None => Ok(false),
            Verdict::Gone => {
                webhooks
                    .disable_endpoint(&endpoint.id, "the receiver answered 410 Gone")
                    .await
            }
            Verdict::Alive => {
                if endpoint.failing_since.is_some() {
                    webhooks.endpoint_succeeded(&endpoint.id).await?;
                }
                Ok(false)
            }
            Verdict::Failing => self.failed_again(endpoint, now).await,
        }
    }

    /// Records a failed attempt to `endpoint` at `now`; disables it if it has failed every
    /// attempt for the configured period. Whether it was disabled.
    async fn failed_again(&self, endpoint: &Endpoint, now: Timestamp) -> Result<bool> {
        let since = self
            .backend
            .webhooks
            .endpoint_failed(&endpoint.id, now)
            .await?;
        match since {
            Some(since) if now - since >= self.settings.disable_after => {
                let reason = format!(
                    "every attempt failed since {}",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                self.backend
                    .webhooks
                    .disable_endpoint(&endpoint.id, &reason)
                    .await
            }
            _ => Ok(false),
        }
    }

    /// The wait after the `failures`-th failed attempt: the first retry wait doubled with each
    /// failure, at most the longest wait, give or take a fifth (so receivers coming back are
    /// not hit by every delivery at once).
    fn backoff(&self, failures: u32) -> Duration {
        let first = self.settings.first_retry.num_milliseconds().max(1);
        let max = self.settings.max_retry.num_milliseconds().max(first);
        let doubled = first.saturating_mul(1_i64 << failures.saturating_sub(1).min(40));
        let base = doubled.min(max);
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        // Whole milliseconds are precise enough for a wait.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let waited = (base as f64 * jitter) as i64;
        Duration::milliseconds(waited.max(1))
    }
}

/// A claimed delivery that cannot be attempted, given up saying why.
fn give_up(mut delivery: Delivery, now: Timestamp, why: &str) -> Done {
    let fence = delivery.fence;
    delivery.record(Attempt {
        at: now,
        status: None,
        duration_ms: 0,
        error: Some(why.to_owned()),
    });
    delivery.status = DeliveryStatus::Failed;
    delivery.finished_at = Some(now);
    delivery.lease = None;
    Done {
        delivery,
        fence,
        fate: Fate::Failed,
        verdict: Verdict::None,
    }
}

fn attempt_of(at: Timestamp, outcome: AttemptOutcome) -> Attempt {
    let error = match (outcome.error, outcome.status) {
        (Some(error), _) => Some(error),
        (None, Some(status)) if !(200..300).contains(&status) => {
            Some(format!("the receiver answered {status}"))
        }
        (None, None) => Some("no answer".to_owned()),
        (None, Some(_)) => None,
    };
    Attempt {
        at,
        status: outcome.status,
        duration_ms: outcome.duration_ms,
        error,
    }
}
