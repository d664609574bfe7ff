//! The checkout strategies: how a checkout holds stock. The configuration names one
//! ([`CheckoutStrategy`]); [`CheckoutStrategy::build`] turns the name into its behaviour once,
//! and that is the only place that asks which strategy runs. Adding a strategy is a variant
//! here, its arm in `build`, and a file of its own implementing [`Strategy`].

mod atomic;
mod gate;
mod lock;
mod port;

pub(crate) use port::{Strategy, Tuning};

use crate::backend::Backend;
use crate::error::{Error, Result};
use std::sync::Arc;

/// How the checkout reserves stock.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum CheckoutStrategy {
    /// Conditional writes only: each line is one atomic `stock >= qty` decrement. The default.
    #[default]
    Atomic,
    /// A lock per product: each line's decrement runs under the backend's
    /// [`DistributedLock`](crate::lock::DistributedLock) for that product (bounded wait, TTL,
    /// owner-only release), and is still conditional. A lock that stays busy for the whole wait
    /// is [`Error::Busy`], never "out of stock".
    LockThenReserve,
    /// The backend's [`StockGate`](crate::gate::StockGate) admits all lines of an order at once
    /// (all or none) before the store's conditional decrements, which stay the final guard: a
    /// gate refusal sheds the request without touching the store, and a gate that counts too
    /// high only lets the store refuse. A gate that counts too low (it missed returned units)
    /// heals from the store on a refusal, and is rebuilt on demand with
    /// [`InventoryService::rebuild_gate`](crate::service::InventoryService::rebuild_gate).
    Gate,
}

impl CheckoutStrategy {
    /// Every strategy with its configuration name.
    pub const ALL: &'static [(&'static str, CheckoutStrategy)] = &[
        ("atomic", CheckoutStrategy::Atomic),
        ("lock_then_reserve", CheckoutStrategy::LockThenReserve),
        ("gate", CheckoutStrategy::Gate),
    ];

    /// Parses a configuration name (`atomic`, `lock_then_reserve`, `gate`); errors name
    /// `checkout_strategy`.
    pub fn parse(name: &str) -> Result<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                Error::validation(
                    "checkout_strategy",
                    format!("must be one of {}", names.join(", ")),
                )
            })
    }

    /// The configuration name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("atomic", |(n, _)| n)
    }

    /// The strategy's behaviour over `backend`: the one place a strategy is chosen.
    pub(crate) fn build(self, backend: &Backend, tuning: Tuning) -> Arc<dyn Strategy> {
        match self {
            CheckoutStrategy::Atomic => Arc::new(atomic::Atomic::new(backend, tuning)),
            CheckoutStrategy::LockThenReserve => {
                Arc::new(lock::LockThenReserve::new(backend, tuning))
            }
            CheckoutStrategy::Gate => Arc::new(gate::Gate::new(backend, tuning)),
        }
    }
}
