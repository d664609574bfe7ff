//! Counts of what happened to returns, for metrics: requests by reason, moves by outcome,
//! refunds by outcome with their amounts. Counted from the events as this process moves them
//! into the log (each event is moved by one process, so the counts of all processes add up).

use crate::event::{Event, EventKind};
use crate::returns::{OrderReturn, ReturnReason};
use std::sync::atomic::{AtomicU64, Ordering};

/// Every reason, in the order the counts list them.
const REASONS: [ReturnReason; 6] = [
    ReturnReason::Damaged,
    ReturnReason::WrongItem,
    ReturnReason::NotAsDescribed,
    ReturnReason::MissingParts,
    ReturnReason::ChangedMind,
    ReturnReason::Other,
];

/// Every outcome label of a return's move.
pub const RETURN_OUTCOMES: [&str; 5] = ["accepted", "rejected", "received", "closed", "refunded"];

/// Every outcome label of a refund.
pub const REFUND_OUTCOMES: [&str; 3] = ["due", "succeeded", "failed"];

/// The counters (shared by the event relay that counts and the return service that reads).
#[derive(Debug, Default)]
pub(crate) struct ReturnStats {
    requested: [AtomicU64; REASONS.len()],
    moves: [AtomicU64; RETURN_OUTCOMES.len()],
    refunds: [AtomicU64; REFUND_OUTCOMES.len()],
    refund_minor: [AtomicU64; REFUND_OUTCOMES.len()],
}

/// What [`ReturnService::stats`](super::ReturnService::stats) reports.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ReturnCounts {
    /// Returns requested, per reason (its snake-case name).
    pub requested: Vec<(&'static str, u64)>,
    /// Moves of returns, per outcome ([`RETURN_OUTCOMES`]).
    pub moves: Vec<(&'static str, u64)>,
    /// Refunds of returns, per outcome ([`REFUND_OUTCOMES`]): how many, and their amounts in
    /// minor units.
    pub refunds: Vec<(&'static str, u64, u64)>,
}

fn reason_name(reason: ReturnReason) -> &'static str {
    match reason {
        ReturnReason::Damaged => "damaged",
        ReturnReason::WrongItem => "wrong_item",
        ReturnReason::NotAsDescribed => "not_as_described",
        ReturnReason::MissingParts => "missing_parts",
        ReturnReason::ChangedMind => "changed_mind",
        ReturnReason::Other => "other",
    }
}

impl ReturnStats {
    /// Counts `event` if it is about a return.
    pub(crate) fn count(&self, event: &Event) {
        let outcome = match event.kind {
            EventKind::ReturnRequested => None,
            EventKind::ReturnAccepted => Some(0),
            EventKind::ReturnRejected => Some(1),
            EventKind::ReturnReceived => Some(2),
            EventKind::ReturnClosed => Some(3),
            EventKind::RefundSucceeded => Some(4),
            EventKind::RefundFailed => None,
            _ => return,
        };
        let Ok(ret) = serde_json::from_value::<OrderReturn>(event.state.clone()) else {
            return;
        };
        if event.kind == EventKind::ReturnRequested {
            if let Some(i) = REASONS.iter().position(|r| *r == ret.reason) {
                self.requested[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(i) = outcome {
            self.moves[i].fetch_add(1, Ordering::Relaxed);
        }
        let refund = match event.kind {
            // A refund becomes due with the receipt, or with an acceptance that refunds at
            // once (refund only, the operator's decision).
            EventKind::ReturnReceived | EventKind::ReturnAccepted => Some(0),
            EventKind::RefundSucceeded => Some(1),
            EventKind::RefundFailed => Some(2),
            _ => None,
        };
        if let (Some(i), Some(amount)) = (refund, ret.refund.as_ref().map(|r| r.amount.minor)) {
            self.refunds[i].fetch_add(1, Ordering::Relaxed);
            self.refund_minor[i].fetch_add(amount.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> ReturnCounts {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReturnCounts {
            requested: REASONS
                .iter()
                .zip(&self.requested)
                .map(|(r, n)| (reason_name(*r), load(n)))
                .collect(),
            moves: RETURN_OUTCOMES
                .iter()
                .zip(&self.moves)
                .map(|(o, n)| (*o, load(n)))
                .collect(),
            refunds: REFUND_OUTCOMES
                .iter()
                .enumerate()
                .map(|(i, o)| (*o, load(&self.refunds[i]), load(&self.refund_minor[i])))
                .collect(),
        }
    }
}
