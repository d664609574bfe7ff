//! Dispatch: the durable consumer of the event log that makes deliveries.

use super::{DispatchReport, WebhookService};
use crate::error::Result;
use crate::event::EventFilter;
use crate::id::ShopId;
use crate::webhook::Delivery;
use std::collections::BTreeSet;

/// The name of webhooks' cursor in the log.
pub(crate) const CURSOR: &str = "webhooks";

impl WebhookService {
    /// One dispatch pass: reads the events after webhooks' cursor (a batch), makes one
    /// delivery per event and enabled endpoint that receives its type (the endpoints of each
    /// shop it concerns, and the platform's), then moves the cursor past them. Idempotent and
    /// safe from any number of processes at once: a delivery of an (endpoint, event) is made
    /// once, and a pass that stops half-way is finished by the next.
    pub async fn dispatch(&self) -> Result<DispatchReport> {
        let events = &self.backend.events;
        let from = events.cursor(CURSOR).await?;
        let read = events
            .list(from, &EventFilter::default(), self.settings.dispatch_batch)
            .await?;
        let Some(last) = read.last().map(|l| l.cursor) else {
            return Ok(DispatchReport::default());
        };
        let shops: Vec<ShopId> = read
            .iter()
            .flat_map(|l| l.event.shops.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let endpoints = self.backend.webhooks.enabled_endpoints(&shops).await?;
        let now = self.backend.clock.now();
        let deliveries: Vec<Delivery> = read
            .iter()
            .flat_map(|logged| {
                endpoints
                    .iter()
                    .filter(|e| {
                        e.wants(logged.event.kind) && e.owner.concerned(&logged.event.shops)
                    })
                    .map(move |e| Delivery::of_event(e, logged, now))
            })
            .collect();
        let made = self.backend.webhooks.insert_deliveries(&deliveries).await?;
        events.save_cursor(CURSOR, from, last).await?;
        Ok(DispatchReport {
            events: read.len() as u64,
            deliveries: made,
        })
    }

    /// Dispatches until the log is read to its end (at most `passes` passes): for tests and
    /// shutdown. Returns the deliveries made.
    pub async fn dispatch_all(&self, passes: u32) -> Result<u64> {
        let mut made = 0;
        for _ in 0..passes {
            let report = self.dispatch().await?;
            made += report.deliveries;
            if report.events == 0 {
                break;
            }
        }
        Ok(made)
    }
}
