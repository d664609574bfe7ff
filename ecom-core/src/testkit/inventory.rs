//! Cases for [`InventoryRepo`](crate::inventory::InventoryRepo) and the inventory service,
//! including the stock invariant under concurrency.

use super::{ecom, published_product, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{ProductId, ShopId};
use crate::inventory::Inventory;

async fn fresh_inventory(backend: &Backend, stock: u64) -> ProductId {
    let now = backend.clock.now();
    let inventory = Inventory {
        product_id: ProductId::generate(),
        shop_id: ShopId::generate(),
        location: "Hanoi".into(),
        stock,
        reservations: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    backend.inventory.insert(&inventory).await.unwrap();
    assert!(matches!(
        backend.inventory.insert(&inventory).await,
        Err(Error::Conflict(_))
    ));
    inventory.product_id
}

pub async fn add_stock_and_owner_checks(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "9.99", 10).await;
    let after = ecom
        .inventory
        .add_stock(&shop, &product.id, 15, Some("Warehouse 7"))
        .await
        .unwrap();
    assert_eq!(after.stock, 25);
    assert_eq!(after.location, "Warehouse 7");
    let got = ecom.inventory.get(&shop, &product.id).await.unwrap();
    assert_eq!(got.stock, 25);
    for bad in [0, 1_000_001] {
        assert!(matches!(
            ecom.inventory
                .add_stock(&shop, &product.id, bad, None)
                .await,
            Err(Error::Validation { .. })
        ));
    }
    assert!(matches!(
        ecom.inventory
            .add_stock(&shop, &ProductId::generate(), 1, None)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        backend
            .inventory
            .add_stock(&ProductId::generate(), 1, None, backend.clock.now())
            .await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        backend
            .inventory
            .get(&product.id)
            .await
            .unwrap()
            .map(|i| i.stock),
        Some(25)
    );
    assert!(backend
        .inventory
        .get(&ProductId::generate())
        .await
        .unwrap()
        .is_none());
}

pub async fn reserve_and_release_are_idempotent(backend: &Backend) {
    let id = fresh_inventory(backend, 10).await;
    let now = backend.clock.now();
    let after = backend.inventory.reserve(&id, 4, "r1", now).await.unwrap();
    assert_eq!((after.stock, after.reserved()), (6, 4));
    // Same reservation id again: no second decrement.
    let again = backend.inventory.reserve(&id, 4, "r1", now).await.unwrap();
    assert_eq!((again.stock, again.reserved()), (6, 4));
    // More than the stock: refused, nothing changes.
    assert!(matches!(
        backend.inventory.reserve(&id, 7, "r2", now).await,
        Err(Error::InsufficientStock { .. })
    ));
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!((inv.stock, inv.reservations.len()), (6, 1));
    assert!(matches!(
        backend
            .inventory
            .reserve(&ProductId::generate(), 1, "r3", now)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(backend.inventory.release(&id, "r1").await.unwrap(), Some(4));
    assert_eq!(backend.inventory.release(&id, "r1").await.unwrap(), None);
    assert_eq!(
        backend
            .inventory
            .release(&ProductId::generate(), "r1")
            .await
            .unwrap(),
        None
    );
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!((inv.stock, inv.reserved()), (10, 0));
}

/// 500 concurrent reservations of 1 unit against a stock of 100.
pub async fn concurrent_reserves_never_oversell(backend: &Backend) {
    let id = fresh_inventory(backend, 100).await;
    let racing = super::interleaved(backend);
    let results = super::rush(500, |i| {
        let (racing, id) = (racing.clone(), id.clone());
        async move {
            racing
                .inventory
                .reserve(&id, 1, &format!("buyer-{i}"), racing.clock.now())
                .await
        }
    })
    .await;
    super::assert_race(
        &results,
        100,
        |e| matches!(e, Error::InsufficientStock { .. }),
        "500 reserves of stock 100",
    );
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(inv.stock, 0);
    assert_eq!(inv.reservations.len(), 100);
    assert_eq!(inv.stock + inv.reserved(), 100);
}

pub async fn concurrent_releases_restock_once(backend: &Backend) {
    let id = fresh_inventory(backend, 5).await;
    backend
        .inventory
        .reserve(&id, 5, "order-1", backend.clock.now())
        .await
        .unwrap();
    let racing = super::interleaved(backend);
    let results = super::rush(20, |_| {
        let (racing, id) = (racing.clone(), id.clone());
        async move { racing.inventory.release(&id, "order-1").await }
    })
    .await;
    let released: Vec<u32> = results
        .into_iter()
        .map(|r| r.unwrap().unwrap_or(0))
        .collect();
    assert_eq!(
        released.iter().filter(|q| **q > 0).count(),
        1,
        "one release wins"
    );
    assert_eq!(released.iter().sum::<u32>(), 5);
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!((inv.stock, inv.reserved()), (5, 0));
}
