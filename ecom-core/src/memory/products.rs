use super::outbox::{HasOutbox, Outbox};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::EventId;
use crate::id::ProductId;
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use crate::product::{
    CatalogueFilter, Facets, Product, ProductFilter, ProductQuery, ProductRepo, StockRecord,
};
use async_trait::async_trait;
use std::sync::Mutex;

/// In-process [`ProductRepo`]. Lists scan all products; fine for development sizes.
#[derive(Debug, Default)]
pub struct MemoryProducts {
    products: Mutex<Map<ProductId, Product>>,
    /// Events waiting, per product (under the products' lock: written with the change).
    outbox: Mutex<Outbox>,
    /// Each product's change stamp ([`ProductRepo::changed_since`]), under the products' lock.
    stamps: Mutex<Map<ProductId, Timestamp>>,
}

fn selects(filter: &ProductFilter, p: &Product) -> bool {
    match filter {
        ProductFilter::Catalogue(catalogue) => catalogue.matches(p),
        ProductFilter::Shop { shop_id, published } => {
            &p.shop_id == shop_id && p.is_published == *published && p.is_draft != *published
        }
    }
}

#[async_trait]
impl ProductRepo for MemoryProducts {
    async fn insert(&self, product: &Product) -> Result<()> {
        let mut products = locked(&self.products);
        if products.contains_key(&product.id) {
            return Err(Error::already_exists("product"));
        }
        products.insert(product.id.clone(), product.clone());
        locked(&self.stamps).insert(product.id.clone(), product.updated_at);
        Ok(())
    }

    async fn get(&self, id: &ProductId) -> Result<Option<Product>> {
        Ok(locked(&self.products).get(id).cloned())
    }

    async fn get_many(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        let products = locked(&self.products);
        Ok(ids
            .iter()
            .filter_map(|id| products.get(id).cloned())
            .collect())
    }

    async fn replace(
        &self,
        product: &Product,
        expected_version: u64,
        events: &[Event],
    ) -> Result<()> {
        let mut products = locked(&self.products);
        let stored = products
            .get_mut(&product.id)
            .ok_or_else(|| Error::not_found("product"))?;
        if stored.version != expected_version {
            return Err(Error::changed("product"));
        }
        let (sold, in_stock, low_stock) = (stored.sold, stored.in_stock, stored.low_stock);
        *stored = product.clone();
        stored.sold = sold;
        stored.in_stock = in_stock;
        stored.low_stock = low_stock;
        locked(&self.stamps).insert(product.id.clone(), product.updated_at);
        locked(&self.outbox).push(product.id.as_str(), events);
        Ok(())
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        let products = locked(&self.products);
        let mut selected: Vec<&Product> = products
            .values()
            .filter(|p| selects(&query.filter, p) && query.is_after(p))
            .collect();
        selected.sort_by(|a, b| query.compare(a, b));
        Ok(query.page.apply(selected.into_iter().cloned()))
    }

    async fn count(&self, filter: &ProductFilter) -> Result<u64> {
        let products = locked(&self.products);
        Ok(products.values().filter(|p| selects(filter, p)).count() as u64)
    }

    async fn facets(&self, filter: &CatalogueFilter) -> Result<Facets> {
        let products = locked(&self.products);
        Ok(Facets::of(products.values().filter(|p| filter.matches(p))))
    }

    async fn record_stock(&self, records: &[StockRecord]) -> Result<u64> {
        let mut products = locked(&self.products);
        let mut written = 0;
        for record in records {
            let Some(p) = products.get_mut(&record.product_id) else {
                continue;
            };
            if (p.in_stock, p.low_stock) != record.was
                || (!record.events.is_empty() && p.version != record.version)
            {
                continue;
            }
            p.sold = record.state.sold;
            p.in_stock = record.state.in_stock;
            p.low_stock = record.low_stock;
            locked(&self.stamps).insert(record.product_id.clone(), record.at);
            locked(&self.outbox).push(record.product_id.as_str(), &record.events);
            written += 1;
        }
        Ok(written)
    }

    async fn published_after(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<Product>> {
        let products = locked(&self.products);
        let mut page: Vec<&Product> = products
            .values()
            .filter(|p| p.is_published && after.is_none_or(|a| &p.id > a))
            .collect();
        page.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(page.into_iter().take(limit as usize).cloned().collect())
    }

    async fn changed_since(&self, since: Timestamp, limit: u32) -> Result<Vec<Product>> {
        let products = locked(&self.products);
        let stamps = locked(&self.stamps);
        Ok(stamps
            .iter()
            .filter(|(_, at)| **at >= since)
            .filter_map(|(id, _)| products.get(id).cloned())
            .take(limit as usize)
            .collect())
    }
}

impl HasOutbox for MemoryProducts {
    fn outbox_waiting(&self, limit: u32) -> Vec<(String, Vec<Event>)> {
        locked(&self.outbox).waiting(limit)
    }

    fn outbox_clear(&self, id: &str, ids: &[EventId]) {
        locked(&self.outbox).clear(id, ids);
    }
}
