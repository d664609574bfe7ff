//! Checking the stock gate against the store: the one rule behind seeding a count, healing a
//! gate that refuses while the store has stock, the periodic reconcile and the operator's
//! rebuild (see the [`gate`](crate::gate) module for why it never counts twice).

use crate::backend::Backend;
use crate::error::Result;
use crate::id::ProductId;

/// Tries before giving up when the product's epoch keeps moving under a heal.
const HEAL_ATTEMPTS: usize = 3;

/// A product's gate count before and after a heal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Healed {
    /// The count before (none: the gate had no count).
    pub before: Option<u64>,
    /// The count after.
    pub after: u64,
}

impl Healed {
    /// Whether the count went up (or was seeded).
    pub(crate) fn raised(self) -> bool {
        self.before.is_none_or(|before| self.after > before)
    }
}

/// Reads the gate's tally of `product`, then the store's stock, and heals the count with them
/// (`exact_when_idle`: see [`StockGate::heal`](crate::gate::StockGate::heal)). `None` if the
/// product's epoch moved under every try (units kept arriving; the next check heals).
pub(crate) async fn heal(
    backend: &Backend,
    product: &ProductId,
    exact_when_idle: bool,
) -> Result<Option<Healed>> {
    for _ in 0..HEAL_ATTEMPTS {
        let tally = backend.gate.tally(product).await?;
        let stock = backend.inventory.get(product).await?.map_or(0, |i| i.stock);
        if let Some(after) = backend
            .gate
            .heal(product, stock, tally.epoch, exact_when_idle)
            .await?
        {
            let healed = Healed {
                before: tally.count,
                after,
            };
            if tally.count.is_some() && Some(after) != tally.count {
                tracing::warn!(%product, before = ?tally.count, after, stock, "stock gate count corrected from the store");
            }
            return Ok(Some(healed));
        }
    }
    Ok(None)
}
