//! The event of a recorded stock adjustment, built where the adjustment is recorded.

use super::model::{Aggregate, AggregateKind, Event, EventKind};
use crate::id::EventId;
use crate::inventory::StockAdjustment;

/// The `stock.adjusted` event of `adjustment`, the `version`-th adjustment of its stock record
/// (the adapters append it to the record's outbox with the adjustment), with the adjustment's
/// id as its own.
pub fn adjusted(adjustment: &StockAdjustment, version: u64) -> Event {
    let record = adjustment
        .model_id
        .as_ref()
        .unwrap_or(&adjustment.product_id);
    let mut event = Event::new(
        EventKind::StockAdjusted,
        adjustment.created_at,
        Aggregate {
            kind: AggregateKind::Stock,
            id: record.to_string(),
            version,
        },
        vec![adjustment.by.clone()],
        adjustment,
    );
    // One adjustment, one event: its id is the adjustment's (both are generated ids), so
    // recording it again never makes a second event.
    if let Ok(id) = EventId::parse(adjustment.id.as_str()) {
        event.id = id;
    }
    event
}
