//! Where a return stands, and the one table of the moves it may make.
//!
//! ```text
//!   requested ──accept (return_and_refund)──> accepted ──receive──> refunding ──refund confirmed──> refunded
//!     │  │  │                                   │   │                  ▲
//!     │  │  └─accept (refund_only)──────────────┼───┼──────────────────┤
//!     │  └──reject──> rejected ──dispute──> disputed ──resolve: refund─┘
//!     │                  │                      └──resolve: reject──> closed
//!     │                  └──(no dispute in time)──────────────────────> closed
//!     └──cancel (customer)──> cancelled <──cancel── accepted ──(never shipped in time)──> closed
//! ```
//!
//! A request the shop leaves unanswered is accepted (return and refund) by the server's sweep.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where a return stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// Asked by the customer; the shop has not answered.
    Requested,
    /// Accepted as return and refund: waiting for the customer's parcel.
    Accepted,
    /// Refused by the shop; the customer may dispute it once.
    Rejected,
    /// The customer disputes the rejection; the operator decides.
    Disputed,
    /// A refund is due (accepted refund only, units received, or the operator's decision).
    Refunding,
    /// The refund was paid.
    Refunded,
    /// Ended without a refund: rejected for good, or never shipped back in time.
    Closed,
    /// Withdrawn by the customer before the shop received anything.
    Cancelled,
}

impl ReturnStatus {
    /// Every status with its name.
    pub const ALL: [(&'static str, ReturnStatus); 8] = [
        ("requested", ReturnStatus::Requested),
        ("accepted", ReturnStatus::Accepted),
        ("rejected", ReturnStatus::Rejected),
        ("disputed", ReturnStatus::Disputed),
        ("refunding", ReturnStatus::Refunding),
        ("refunded", ReturnStatus::Refunded),
        ("closed", ReturnStatus::Closed),
        ("cancelled", ReturnStatus::Cancelled),
    ];

    /// Whether a return may move from `self` to `next` (the table of the module's drawing).
    /// Staying put is no move.
    pub fn can_become(self, next: ReturnStatus) -> bool {
        use ReturnStatus::*;
        matches!(
            (self, next),
            (Requested, Accepted | Refunding | Rejected | Cancelled)
                | (Accepted, Refunding | Cancelled | Closed)
                | (Rejected, Disputed | Closed)
                | (Disputed, Refunding | Closed)
                | (Refunding, Refunded)
        )
    }

    /// Whether no move leaves it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReturnStatus::Refunded | ReturnStatus::Closed | ReturnStatus::Cancelled
        )
    }

    /// The name (`requested`, ...).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("requested", |(n, _)| n)
    }

    /// Parses a name.
    pub fn parse(text: &str, field: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                Error::validation(
                    field,
                    "must be one of requested, accepted, rejected, disputed, refunding, \
                     refunded, closed, cancelled",
                )
            })
    }

    /// Moves `self` to `next`, or refuses with [`Error::Conflict`] naming both.
    pub fn check_move(self, next: ReturnStatus) -> Result<()> {
        if self.can_become(next) {
            Ok(())
        } else {
            Err(Error::refused(
                "return",
                format!("cannot go from {} to {}", self.name(), next.name()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ReturnStatus::{self, *};

    #[test]
    fn only_the_drawn_moves_are_allowed() {
        let allowed = [
            (Requested, Accepted),
            (Requested, Refunding),
            (Requested, Rejected),
            (Requested, Cancelled),
            (Accepted, Refunding),
            (Accepted, Cancelled),
            (Accepted, Closed),
            (Rejected, Disputed),
            (Rejected, Closed),
            (Disputed, Refunding),
            (Disputed, Closed),
            (Refunding, Refunded),
        ];
        for (_, from) in ReturnStatus::ALL {
            for (_, to) in ReturnStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
            let leaves = ReturnStatus::ALL.iter().any(|(_, to)| from.can_become(*to));
            assert_eq!(from.is_final(), !leaves, "{from:?}");
        }
        for (name, status) in ReturnStatus::ALL {
            assert_eq!(ReturnStatus::parse(name, "status").unwrap(), status);
            assert_eq!(status.name(), name);
            assert_eq!(serde_json::to_value(status).unwrap(), name);
        }
        assert!(ReturnStatus::parse("Requested", "status").is_err());
    }
}
