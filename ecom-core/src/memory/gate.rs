use super::locked;
use super::Map;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::gate::{Admission, GateLine, StockGate};
use crate::id::ProductId;
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`StockGate`]: admission within one process.
#[derive(Debug, Default)]
pub struct MemoryGate {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    counts: Map<ProductId, u64>,
    admissions: Map<String, Admitted>,
}

/// One checkout's admission.
#[derive(Debug)]
struct Admitted {
    at: Timestamp,
    units: Map<ProductId, u32>,
}

#[async_trait]
impl StockGate for MemoryGate {
    async fn admit(&self, checkout: &str, lines: &[GateLine], at: Timestamp) -> Result<Admission> {
        let mut inner = locked(&self.inner);
        if inner.admissions.contains_key(checkout) {
            return Ok(Admission::Admitted);
        }
        let unseeded: Vec<ProductId> = lines
            .iter()
            .filter(|l| !inner.counts.contains_key(&l.product_id))
            .map(|l| l.product_id.clone())
            .collect();
        if !unseeded.is_empty() {
            return Ok(Admission::Unseeded {
                product_ids: unseeded,
            });
        }
        if let Some(short) = lines
            .iter()
            .find(|l| inner.counts.get(&l.product_id).copied().unwrap_or(0) < u64::from(l.quantity))
        {
            return Ok(Admission::Refused {
                product_id: short.product_id.clone(),
            });
        }
        let mut held = Map::default();
        for line in lines {
            if let Some(count) = inner.counts.get_mut(&line.product_id) {
                *count -= u64::from(line.quantity);
            }
            *held.entry(line.product_id.clone()).or_insert(0) += line.quantity;
        }
        inner
            .admissions
            .insert(checkout.to_owned(), Admitted { at, units: held });
        Ok(Admission::Admitted)
    }

    async fn release(&self, checkout: &str, products: &[ProductId]) -> Result<()> {
        let mut inner = locked(&self.inner);
        let Inner { counts, admissions } = &mut *inner;
        let Some(held) = admissions.get_mut(checkout) else {
            return Ok(());
        };
        for product in products {
            if let Some(units) = held.units.remove(product) {
                if let Some(count) = counts.get_mut(product) {
                    *count += u64::from(units);
                }
            }
        }
        if held.units.is_empty() {
            admissions.remove(checkout);
        }
        Ok(())
    }

    async fn commit(&self, checkout: &str) -> Result<()> {
        locked(&self.inner).admissions.remove(checkout);
        Ok(())
    }

    async fn list_stale(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, Vec<ProductId>)>> {
        let inner = locked(&self.inner);
        let mut stale: Vec<(&String, &Admitted)> = inner
            .admissions
            .iter()
            .filter(|(_, a)| a.at < before)
            .collect();
        stale.sort_by_key(|(id, a)| (a.at, *id));
        Ok(stale
            .into_iter()
            .take(limit as usize)
            .map(|(id, a)| (id.clone(), a.units.keys().cloned().collect()))
            .collect())
    }

    async fn seed(&self, product: &ProductId, units: u64) -> Result<()> {
        locked(&self.inner)
            .counts
            .entry(product.clone())
            .or_insert(units);
        Ok(())
    }

    async fn add(&self, product: &ProductId, units: u32) -> Result<()> {
        if let Some(count) = locked(&self.inner).counts.get_mut(product) {
            *count += u64::from(units);
        }
        Ok(())
    }

    async fn reset(&self, product: &ProductId) -> Result<()> {
        locked(&self.inner).counts.remove(product);
        Ok(())
    }

    async fn available(&self, product: &ProductId) -> Result<Option<u64>> {
        Ok(locked(&self.inner).counts.get(product).copied())
    }
}
