//! The gate strategy: the backend's stock gate admits every line of an order at once before
//! the store's conditional decrements (as in the atomic strategy), which stay the last word.

use super::atomic::Atomic;
use super::port::{Strategy, Tuning};
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::gate::{Admission, GateLine};
use crate::id::ProductId;
use crate::inventory::Reservation;
use crate::order::Order;
use crate::service::checkout::gate_heal;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Admission attempts before giving up (a seed or a heal in between needs two).
const GATE_ATTEMPTS: usize = 3;

/// Stock records whose last heal check this process remembers before forgetting expired ones.
const HEAL_CHECKS_KEPT: usize = 4096;

/// Admission by the stock gate, then the atomic strategy's decrements.
#[derive(Debug)]
pub(crate) struct Gate {
    backend: Backend,
    store: Atomic,
    heal_every: Duration,
    /// When this process last checked each refused record's gate count against the store.
    heal_checks: Mutex<HashMap<ProductId, Timestamp>>,
}

impl Gate {
    pub(crate) fn new(backend: &Backend, tuning: Tuning) -> Self {
        Gate {
            backend: backend.clone(),
            store: Atomic::new(backend, tuning),
            heal_every: tuning.gate_heal_every,
            heal_checks: Mutex::default(),
        }
    }

    /// Whether this process may check `stock`'s gate count against the store now (at most
    /// once per `heal_every`); notes the check if so.
    fn may_heal(&self, stock: &ProductId, now: Timestamp) -> bool {
        let every = chrono::Duration::from_std(self.heal_every).unwrap_or(chrono::Duration::MAX);
        let mut checked = self
            .heal_checks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if checked.len() >= HEAL_CHECKS_KEPT {
            checked.retain(|_, at| now.signed_duration_since(*at) < every);
        }
        match checked.get(stock) {
            Some(last) if now.signed_duration_since(*last) < every => false,
            _ => {
                checked.insert(stock.clone(), now);
                true
            }
        }
    }
}

#[async_trait]
impl Strategy for Gate {
    /// Has the stock gate admit every line of `order`, seeding records it does not know yet
    /// from the store. A refusal is out of stock, answered without touching the store, unless
    /// this process has not checked the refused record against the store for the heal period:
    /// then the gate is healed from the store first, and asked again if that raised its count.
    async fn admit(&self, order: &Order, at: Timestamp) -> Result<()> {
        let lines: Vec<GateLine> = order
            .lines
            .iter()
            .map(|l| GateLine {
                product_id: l.stock_id().clone(),
                quantity: l.quantity,
            })
            .collect();
        let backend = &self.backend;
        let mut checked = false;
        for _ in 0..GATE_ATTEMPTS {
            match backend.gate.admit(order.id.as_str(), &lines, at).await? {
                Admission::Admitted => return Ok(()),
                Admission::Refused { product_id } => {
                    if !checked && self.may_heal(&product_id, at) {
                        checked = true;
                        let healed = gate_heal::heal(backend, &product_id, false).await?;
                        if healed.is_some_and(gate_heal::Healed::raised) {
                            continue;
                        }
                    }
                    return Err(Error::InsufficientStock {
                        product_id: product_id.to_string(),
                    });
                }
                Admission::Unseeded { product_ids } => {
                    for product in &product_ids {
                        gate_heal::heal(backend, product, false).await?;
                    }
                }
            }
        }
        Err(Error::Busy(
            "the stock gate keeps being reset; retry".into(),
        ))
    }

    async fn reserve(&self, stock: &ProductId, hold: Reservation) -> Result<()> {
        self.store.reserve(stock, hold).await
    }

    async fn release(&self, checkout: &str, stock: &[ProductId]) -> Result<()> {
        self.backend.gate.release(checkout, stock).await
    }

    async fn settled(&self, checkout: &str, stock: &[ProductId]) -> Result<()> {
        self.backend.gate.commit(checkout, stock).await
    }

    async fn stale_admissions(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>> {
        self.backend.gate.list_stale(before, limit).await
    }
}
