use super::outbox::{HasOutbox, Outbox};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::id::EventId;
use crate::id::ProductId;
use crate::in_process::sync::locked;
use crate::in_process::sync::Map;
use crate::product::{
    CatalogueFilter, Facets, Product, ProductFilter, ProductQuery, ProductRepo, ProductSort,
    StockRecord,
};
use async_trait::async_trait;
use std::cmp::Ordering;
use std::sync::Mutex;

/// In-process [`ProductRepo`]. Lists scan all products; fine for development sizes.
#[derive(Debug, Default)]
pub struct MemoryProducts {
    products: Mutex<Map<ProductId, Product>>,
    /// Events waiting, per product (under the products' lock: written with the change).
    outbox: Mutex<Outbox>,
}

fn selects(filter: &ProductFilter, p: &Product) -> bool {
    match filter {
        ProductFilter::Catalogue(catalogue) => catalogue.matches(p),
        ProductFilter::Shop { shop_id, published } => {
            &p.shop_id == shop_id && p.is_published == *published && p.is_draft != *published
        }
    }
}

fn compare(query: &ProductQuery, a: &Product, b: &Product) -> Ordering {
    let newest = || b.created_at.cmp(&a.created_at);
    let primary = match query.sort {
        ProductSort::Newest => newest(),
        ProductSort::RecentlyUpdated => b.updated_at.cmp(&a.updated_at),
        ProductSort::PriceAsc => a.price.minor.cmp(&b.price.minor),
        ProductSort::PriceDesc => b.price.minor.cmp(&a.price.minor),
        ProductSort::BestSelling => b.sold.cmp(&a.sold),
        ProductSort::Relevance => match &query.filter {
            ProductFilter::Catalogue(c) => c.relevance(b).cmp(&c.relevance(a)).then_with(newest),
            ProductFilter::Shop { .. } => newest(),
        },
    };
    primary.then_with(|| b.id.cmp(&a.id))
}

#[async_trait]
impl ProductRepo for MemoryProducts {
    async fn insert(&self, product: &Product) -> Result<()> {
        let mut products = locked(&self.products);
        if products.contains_key(&product.id) {
            return Err(Error::already_exists("product"));
        }
        products.insert(product.id.clone(), product.clone());
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
        locked(&self.outbox).push(product.id.as_str(), events);
        Ok(())
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        let products = locked(&self.products);
        let mut selected: Vec<&Product> = products
            .values()
            .filter(|p| selects(&query.filter, p))
            .collect();
        selected.sort_by(|a, b| compare(query, a, b));
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
            locked(&self.outbox).push(record.product_id.as_str(), &record.events);
            written += 1;
        }
        Ok(written)
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
