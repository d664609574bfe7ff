use crate::clock::Timestamp;
use crate::error::Result;
use crate::gate::{Admission, GateLine, StockGate, Tally};
use crate::id::ProductId;
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
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
    /// Units in open admissions, per product.
    open: Map<ProductId, u64>,
    epochs: Map<ProductId, u64>,
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
            *inner.open.entry(line.product_id.clone()).or_insert(0) += u64::from(line.quantity);
            *held.entry(line.product_id.clone()).or_insert(0) += line.quantity;
        }
        inner
            .admissions
            .insert(checkout.to_owned(), Admitted { at, units: held });
        Ok(Admission::Admitted)
    }

    async fn release(&self, checkout: &str, products: &[ProductId]) -> Result<()> {
        let mut inner = locked(&self.inner);
        let Inner {
            counts,
            admissions,
            open,
            ..
        } = &mut *inner;
        let Some(held) = admissions.get_mut(checkout) else {
            return Ok(());
        };
        for product in products {
            if let Some(units) = held.units.remove(product) {
                if let Some(count) = counts.get_mut(product) {
                    *count += u64::from(units);
                }
                close(open, product, units);
            }
        }
        if held.units.is_empty() {
            admissions.remove(checkout);
        }
        Ok(())
    }

    async fn commit(&self, checkout: &str, _products: &[ProductId]) -> Result<()> {
        let mut inner = locked(&self.inner);
        let Inner {
            admissions,
            open,
            epochs,
            ..
        } = &mut *inner;
        if let Some(held) = admissions.remove(checkout) {
            for (product, units) in held.units {
                close(open, &product, units);
                *epochs.entry(product).or_insert(0) += 1;
            }
        }
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
        let mut inner = locked(&self.inner);
        *inner.epochs.entry(product.clone()).or_insert(0) += 1;
        if let Some(count) = inner.counts.get_mut(product) {
            *count += u64::from(units);
        }
        Ok(())
    }

    async fn take(&self, product: &ProductId, units: u64) -> Result<()> {
        let mut inner = locked(&self.inner);
        *inner.epochs.entry(product.clone()).or_insert(0) += 1;
        if let Some(count) = inner.counts.get_mut(product) {
            *count = count.saturating_sub(units);
        }
        Ok(())
    }

    async fn tally(&self, product: &ProductId) -> Result<Tally> {
        let inner = locked(&self.inner);
        Ok(Tally {
            count: inner.counts.get(product).copied(),
            open: inner.open.get(product).copied().unwrap_or(0),
            epoch: inner.epochs.get(product).copied().unwrap_or(0),
        })
    }

    async fn heal(
        &self,
        product: &ProductId,
        stock: u64,
        epoch: u64,
        exact_when_idle: bool,
    ) -> Result<Option<u64>> {
        let mut inner = locked(&self.inner);
        if inner.epochs.get(product).copied().unwrap_or(0) != epoch {
            return Ok(None);
        }
        let open = inner.open.get(product).copied().unwrap_or(0);
        let floor = stock.saturating_sub(open);
        let healed = match inner.counts.get(product) {
            None => floor,
            Some(_) if exact_when_idle && open == 0 => stock,
            Some(&count) => count.max(floor),
        };
        inner.counts.insert(product.clone(), healed);
        Ok(Some(healed))
    }

    async fn counted(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<ProductId>> {
        let inner = locked(&self.inner);
        let mut ids: Vec<&ProductId> = inner
            .counts
            .keys()
            .filter(|id| after.is_none_or(|a| *id > a))
            .collect();
        ids.sort();
        Ok(ids.into_iter().take(limit as usize).cloned().collect())
    }

    async fn reset(&self, product: &ProductId) -> Result<()> {
        locked(&self.inner).counts.remove(product);
        Ok(())
    }

    async fn available(&self, product: &ProductId) -> Result<Option<u64>> {
        Ok(locked(&self.inner).counts.get(product).copied())
    }
}

/// Takes `units` of `product` out of the open admissions.
fn close(open: &mut Map<ProductId, u64>, product: &ProductId, units: u32) {
    if let Some(held) = open.get_mut(product) {
        *held = held.saturating_sub(u64::from(units));
        if *held == 0 {
            open.remove(product);
        }
    }
}
