use super::locked;
use super::Map;
use crate::error::{Error, Result};
use crate::id::ProductId;
use crate::product::{Product, ProductFilter, ProductQuery, ProductRepo, ProductSort};
use async_trait::async_trait;
use std::cmp::Ordering;
use std::sync::Mutex;

/// In-process [`ProductRepo`]. Lists scan all products; fine for development sizes.
#[derive(Debug, Default)]
pub struct MemoryProducts {
    products: Mutex<Map<ProductId, Product>>,
}

fn selects(filter: &ProductFilter, p: &Product) -> bool {
    match filter {
        ProductFilter::Published => p.is_published,
        ProductFilter::Search { terms } => {
            p.is_published && terms.iter().all(|t| p.search_terms.contains(t))
        }
        ProductFilter::Shop { shop_id, published } => {
            &p.shop_id == shop_id && p.is_published == *published && p.is_draft != *published
        }
    }
}

fn compare(sort: ProductSort, a: &Product, b: &Product) -> Ordering {
    let primary = match sort {
        ProductSort::Newest => b.created_at.cmp(&a.created_at),
        ProductSort::RecentlyUpdated => b.updated_at.cmp(&a.updated_at),
        ProductSort::PriceAsc => a.price.minor.cmp(&b.price.minor),
        ProductSort::PriceDesc => b.price.minor.cmp(&a.price.minor),
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

    async fn replace(&self, product: &Product, expected_version: u64) -> Result<()> {
        let mut products = locked(&self.products);
        let stored = products
            .get_mut(&product.id)
            .ok_or_else(|| Error::not_found("product"))?;
        if stored.version != expected_version {
            return Err(Error::changed("product"));
        }
        *stored = product.clone();
        Ok(())
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        let products = locked(&self.products);
        let mut selected: Vec<&Product> = products
            .values()
            .filter(|p| selects(&query.filter, p))
            .collect();
        selected.sort_by(|a, b| compare(query.sort, a, b));
        Ok(query.page.apply(selected.into_iter().cloned()))
    }
}
