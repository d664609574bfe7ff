//! Workers: attempts of due deliveries, under a lease and a fence, with backoff.

use super::{DeliverReport, WebhookService};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::webhook::{
    Attempt, AttemptOutcome, ClaimLimits, Delivery, DeliveryStatus, Endpoint, WebhookTransport,
};
use chrono::Duration;
use rand::Rng;
use std::sync::Arc;

/// What became of one claimed delivery.
enum Fate {
    Succeeded,
    Retrying,
    Failed,
    /// Another worker claimed it since: nothing was recorded.
    Lost,
}

impl WebhookService {
    /// Claims the deliveries due at `now` for `worker_id` (at most the free share of
    /// [`max_in_flight`](super::WebhookSettings::max_in_flight) of this process, and
    /// [`max_in_flight_per_endpoint`](super::WebhookSettings::max_in_flight_per_endpoint) per
    /// endpoint over all workers), attempts them concurrently through the transport and
    /// records each attempt: a 2xx succeeds; a `410 Gone` disables the endpoint and gives the
    /// delivery up; anything else is retried with exponential backoff and jitter until
    /// [`max_attempts`](super::WebhookSettings::max_attempts), and an endpoint that failed
    /// every attempt for [`disable_after`](super::WebhookSettings::disable_after) is disabled.
    ///
    /// A claim is a lease with a fence: two workers (or processes) never attempt one delivery
    /// at once, a worker that dies holding one only delays it until the lease lapses, and a
    /// worker whose lease lapsed cannot record over its successor. One endpoint's deliveries of
    /// one aggregate are attempted in log order, each only after the one before it succeeded
    /// or was given up.
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
        let attempts = claimed
            .into_iter()
            .map(|delivery| self.attempt(transport.clone(), delivery, now));
        let fates = futures::future::join_all(attempts).await;
        drop(permits);
        let mut report = DeliverReport::default();
        for fate in fates {
            let (fate, disabled) = match fate {
                Ok(done) => done,
                Err(e) => {
                    // Its lease lapses and another pass attempts it again.
                    tracing::warn!(error = %e, "recording a webhook attempt failed");
                    report.lost += 1;
                    continue;
                }
            };
            report.attempted += 1;
            report.disabled += u64::from(disabled);
            match fate {
                Fate::Succeeded => report.succeeded += 1,
                Fate::Retrying => report.retrying += 1,
                Fate::Failed => report.failed += 1,
                Fate::Lost => report.lost += 1,
            }
        }
        self.count(&report);
        Ok(report)
    }

    /// One attempt of a claimed `delivery`; the fate, and whether an endpoint was disabled.
    async fn attempt(
        &self,
        transport: Arc<dyn WebhookTransport>,
        mut delivery: Delivery,
        now: Timestamp,
    ) -> Result<(Fate, bool)> {
        let fence = delivery.fence;
        let endpoint = self
            .backend
            .webhooks
            .endpoint(&delivery.endpoint_id)
            .await?;
        let endpoint = match endpoint {
            Some(e) if e.enabled => e,
            Some(_) => {
                return self
                    .give_up(delivery, now, "the endpoint is disabled")
                    .await
            }
            None => {
                return self
                    .give_up(delivery, now, "the endpoint was deleted")
                    .await
            }
        };
        let event = match delivery.event_kind {
            None => None,
            Some(_) => match self.backend.events.get(&delivery.event_id).await? {
                Some(event) => Some(event),
                None => {
                    return self
                        .give_up(delivery, now, "the event is no longer in the log")
                        .await
                }
            },
        };
        let outcome = transport
            .deliver(&endpoint, &delivery, event.as_ref(), now)
            .await;
        let status = outcome.status;
        delivery.record(attempt_of(now, outcome));
        delivery.lease = None;
        let mut disabled = false;
        let fate = match status {
            Some(200..=299) => {
                delivery.status = DeliveryStatus::Succeeded;
                delivery.finished_at = Some(now);
                Fate::Succeeded
            }
            Some(410) => {
                delivery.status = DeliveryStatus::Failed;
                delivery.finished_at = Some(now);
                Fate::Failed
            }
            _ if delivery.attempt_count >= self.settings.max_attempts => {
                delivery.status = DeliveryStatus::Failed;
                delivery.finished_at = Some(now);
                Fate::Failed
            }
            _ => {
                delivery.next_try_at = now + self.backoff(delivery.attempt_count);
                Fate::Retrying
            }
        };
        if !self.backend.webhooks.finish(&delivery, fence).await? {
            return Ok((Fate::Lost, false));
        }
        match status {
            Some(200..=299) => {
                if endpoint.failing_since.is_some() {
                    self.backend
                        .webhooks
                        .endpoint_succeeded(&endpoint.id)
                        .await?;
                }
            }
            Some(410) => {
                disabled = self
                    .backend
                    .webhooks
                    .disable_endpoint(&endpoint.id, "the receiver answered 410 Gone")
                    .await?;
            }
            _ => disabled = self.failed_again(&endpoint, now).await?,
        }
        Ok((fate, disabled))
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

    /// Gives up a claimed delivery that cannot be attempted, saying why.
    async fn give_up(
        &self,
        mut delivery: Delivery,
        now: Timestamp,
        why: &str,
    ) -> Result<(Fate, bool)> {
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
        match self.backend.webhooks.finish(&delivery, fence).await? {
            true => Ok((Fate::Failed, false)),
            false => Ok((Fate::Lost, false)),
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
