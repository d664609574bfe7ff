//! The time limits of returns.

use chrono::Duration;

/// How long each step of a return may take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ReturnPolicy {
    /// How long after a line is delivered it may be asked back (default 15 days).
    pub window: Duration,
    /// How long a shop has to answer a request before the sweep accepts it as return and
    /// refund (default 3 days).
    pub answer_within: Duration,
    /// How long the customer has to send accepted units back before the sweep closes the
    /// return without a refund (default 7 days).
    pub ship_within: Duration,
    /// How long the customer has to dispute a rejection before the sweep closes it (default
    /// 7 days).
    pub dispute_within: Duration,
}

impl Default for ReturnPolicy {
    fn default() -> Self {
        ReturnPolicy {
            window: Duration::days(15),
            answer_within: Duration::days(3),
            ship_within: Duration::days(7),
            dispute_within: Duration::days(7),
        }
    }
}
