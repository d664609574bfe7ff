//! The one way an order changes after it is placed: replaced at the version it was read at,
//! with the events the change makes in the same write, and on a lost race read again and
//! edited again.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::order::Order;
use crate::service::order_events::{order_events, Actor};

/// Tries before giving up with [`Error::changed`] when other writes keep winning.
const ATTEMPTS: usize = 5;

/// What an edit decides for the order as it stands now.
pub(crate) enum Edit {
    /// Write this order (its version and update time are set by [`update_order`]).
    Save(Box<Order>),
    /// Leave the order as it is.
    Keep,
}

impl Edit {
    /// Write `order`.
    pub(crate) fn save(order: Order) -> Self {
        Edit::Save(Box::new(order))
    }
}

/// The outcome of [`update_order`].
#[derive(Debug)]
pub(crate) struct Updated {
    /// The order as the edit that decided last saw it.
    pub(crate) before: Order,
    /// The order after (the same as `before` if nothing was written).
    pub(crate) after: Order,
    /// Whether the edit's order was written.
    pub(crate) saved: bool,
}

/// Edits `order` with `edit` and writes the result conditionally on `order`'s version, with
/// the events the change makes (by `actor`; see [`order_events`]) in its outbox. When another
/// write came first, reads the order again and calls `edit` again on it (so `edit` re-checks
/// every rule on the order as it stands); an error of `edit` ends the update with nothing
/// written. [`Error::NotFound`] if the order is gone; [`Error::changed`] if other writes won
/// [`ATTEMPTS`] times in a row.
pub(crate) async fn update_order(
    backend: &Backend,
    order: Order,
    actor: Actor,
    mut edit: impl FnMut(&Order) -> Result<Edit>,
) -> Result<Updated> {
    let mut current = order;
    for _ in 0..ATTEMPTS {
        let mut next = match edit(&current)? {
            Edit::Keep => {
                return Ok(Updated {
                    after: current.clone(),
                    before: current,
                    saved: false,
                })
            }
            Edit::Save(next) => *next,
        };
        next.version = current.version + 1;
        next.updated_at = backend.clock.now();
        let events = order_events(&current, &next, &actor, next.updated_at);
        match backend
            .orders
            .replace(&next, current.version, &events)
            .await
        {
            Ok(()) => {
                return Ok(Updated {
                    before: current,
                    after: next,
                    saved: true,
                })
            }
            Err(e) if e.is_changed() => {
                current = backend
                    .orders
                    .get(&current.id)
                    .await?
                    .ok_or_else(|| Error::not_found("order"))?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::changed("order"))
}
