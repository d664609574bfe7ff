//! What the catalogue keeps of products' stock records: units sold (read exactly for a
//! product page, copied onto products for the best-selling sort) and whether a product has
//! free stock (copied onto products for the in-stock filter).

use crate::backend::Backend;
use crate::error::Result;
use crate::id::ProductId;
use crate::product::Product;

/// `products` with their exact units sold and stock state, from their stock records.
pub(crate) async fn with_sold(
    backend: &Backend,
    mut products: Vec<Product>,
) -> Result<Vec<Product>> {
    if products.is_empty() {
        return Ok(products);
    }
    let ids: Vec<ProductId> = products.iter().map(|p| p.id.clone()).collect();
    let states = backend.inventory.stock_states(&ids).await?;
    for product in &mut products {
        if let Some((_, state)) = states.iter().find(|(id, _)| id == &product.id) {
            product.sold = state.sold;
            product.in_stock = state.in_stock;
        }
    }
    Ok(products)
}

/// Copies the units sold and the stock state of `products` from their stock records onto the
/// products (the copies the best-selling sort and the in-stock filter read): one read of the
/// records and one write per product, after a batch of settlements, a cancellation's restock,
/// a checkout's stock given back, or a stock addition or adjustment. Best effort: a failure is
/// logged and the next refresh of the product repairs it.
pub(crate) async fn refresh_stock(
    backend: &Backend,
    products: impl IntoIterator<Item = ProductId>,
) {
    let mut ids: Vec<ProductId> = products.into_iter().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return;
    }
    let refreshed = match backend.inventory.stock_states(&ids).await {
        Ok(states) => backend.products.record_stock(&states).await,
        Err(e) => Err(e),
    };
    if let Err(e) = refreshed {
        tracing::warn!(error = %e, "refreshing products' units sold and stock failed; the next change of each will");
    }
}
