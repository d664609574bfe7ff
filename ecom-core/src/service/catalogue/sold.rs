//! Units sold: read exactly from the stock records, and copied onto products for the
//! best-selling sort.

use crate::backend::Backend;
use crate::error::Result;
use crate::id::ProductId;
use crate::product::Product;

/// `products` with their exact units sold, from their stock records.
pub(crate) async fn with_sold(
    backend: &Backend,
    mut products: Vec<Product>,
) -> Result<Vec<Product>> {
    if products.is_empty() {
        return Ok(products);
    }
    let ids: Vec<ProductId> = products.iter().map(|p| p.id.clone()).collect();
    let sold = backend.inventory.sold_of(&ids).await?;
    for product in &mut products {
        if let Some((_, units)) = sold.iter().find(|(id, _)| id == &product.id) {
            product.sold = *units;
        }
    }
    Ok(products)
}

/// Copies the units sold of `products` from their stock records onto the products (the copy
/// the best-selling sort reads): one write per product, after a batch of settlements or a
/// cancellation's restock. Best effort: a failure is logged and the next refresh of the
/// product repairs it.
pub(crate) async fn record_sales(backend: &Backend, products: impl IntoIterator<Item = ProductId>) {
    let mut ids: Vec<ProductId> = products.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return;
    }
    let refreshed = match backend.inventory.sold_of(&ids).await {
        Ok(sold) => backend.products.record_sold(&sold).await,
        Err(e) => Err(e),
    };
    if let Err(e) = refreshed {
        tracing::warn!(error = %e, "refreshing products' units sold failed; the next sale of each will");
    }
}
