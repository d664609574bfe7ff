//! Cases for [`InventoryRepo`](crate::inventory::InventoryRepo) and the inventory service,
//! including the stock invariant under concurrency.

use super::{ecom, published_product, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{OrderId, ProductId, ShopId};
use crate::inventory::{Inventory, Reservation};

/// A checkout's hold of `quantity` units (its id is its order's).
pub fn hold(backend: &Backend, quantity: u32) -> Reservation {
    let order_id = OrderId::generate();
    Reservation {
        id: order_id.to_string(),
        order_id,
        quantity,
        created_at: backend.clock.now(),
    }
}

async fn fresh_inventory(backend: &Backend, stock: u64) -> ProductId {
    let now = backend.clock.now();
    let inventory = Inventory {
        product_id: ProductId::generate(),
        shop_id: ShopId::generate(),
        location: "Hanoi".into(),
        stock,
        sold: 0,
        reservations: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    backend.inventory.insert(&inventory).await.unwrap();
    assert!(matches!(
        backend.inventory.insert(&inventory).await,
        Err(Error::AlreadyExists { .. })
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

/// Every move of units: reserve (all or nothing, never over the stock, never an open id
/// twice), release, settle, unsettle; each hold moves once; stale holds are listed.
pub async fn holds_move_once(backend: &Backend) {
    let id = fresh_inventory(backend, 10).await;
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    let (a, b, c) = (hold(backend, 4), hold(backend, 3), hold(backend, 5));
    backend
        .inventory
        .reserve(&id, &[a.clone(), b.clone()])
        .await
        .unwrap();
    let counts = |i: &Inventory| (i.stock, i.reserved(), i.sold);
    let inv2 = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(counts(&inv2), (3, 7, 0));
    // An id already open, or more than the stock: refused, nothing changes (all or nothing).
    for refused in [
        vec![a.clone()],
        vec![c.clone()],
        vec![hold(backend, 1), c.clone()],
    ] {
        assert!(matches!(
            backend.inventory.reserve(&id, &refused).await,
            Err(Error::InsufficientStock { .. })
        ));
    }
    let inv2 = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(counts(&inv2), (3, 7, 0));
    assert_eq!(inv2.reservations.len(), 2);
    assert!(matches!(
        backend
            .inventory
            .reserve(&ProductId::generate(), &[hold(backend, 1)])
            .await,
        Err(Error::NotFound { .. })
    ));
    // Settle a, release b: each once; a hold with a wrong quantity does not match.
    let wrong = Reservation {
        quantity: 9,
        ..a.clone()
    };
    assert_eq!(backend.inventory.settle(&id, &[wrong]).await.unwrap(), 0);
    assert_eq!(
        backend
            .inventory
            .settle(&id, std::slice::from_ref(&a))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        backend
            .inventory
            .settle(&id, std::slice::from_ref(&a))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        backend
            .inventory
            .release(&id, std::slice::from_ref(&a))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        backend
            .inventory
            .release(&id, std::slice::from_ref(&b))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        backend
            .inventory
            .release(&id, std::slice::from_ref(&b))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        backend
            .inventory
            .release(&ProductId::generate(), std::slice::from_ref(&b))
            .await
            .unwrap(),
        0
    );
    let inv2 = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(counts(&inv2), (6, 0, 4));
    // A return: sold -> open under a token (twice is once), then released to stock.
    let ret = Reservation {
        id: "return-token".into(),
        ..a.clone()
    };
    backend.inventory.unsettle(&id, &ret).await.unwrap();
    backend.inventory.unsettle(&id, &ret).await.unwrap();
    let inv2 = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(counts(&inv2), (6, 4, 0));
    let too_many = Reservation {
        id: "another".into(),
        quantity: 1,
        ..a.clone()
    };
    assert!(matches!(
        backend.inventory.unsettle(&id, &too_many).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        backend
            .inventory
            .release(&id, std::slice::from_ref(&ret))
            .await
            .unwrap(),
        4
    );
    let inv2 = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(counts(&inv2), (10, 0, 0));
    // Several holds settle in one call; only those still open move.
    let (d, e) = (hold(backend, 2), hold(backend, 2));
    backend
        .inventory
        .reserve(&id, &[d.clone(), e.clone()])
        .await
        .unwrap();
    backend
        .inventory
        .release(&id, std::slice::from_ref(&e))
        .await
        .unwrap();
    assert_eq!(
        backend
            .inventory
            .settle(&id, &[d.clone(), e.clone()])
            .await
            .unwrap(),
        2
    );
    let inv2 = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(counts(&inv2), (8, 0, 2));
    assert_eq!(inv2.received(), inv.received());
    // Stale holds are listed, fresh ones are not.
    let f = hold(backend, 1);
    backend
        .inventory
        .reserve(&id, std::slice::from_ref(&f))
        .await
        .unwrap();
    let later = f.created_at + chrono::Duration::seconds(1);
    let stale = backend.inventory.list_stale(later, 1000).await.unwrap();
    assert!(stale.iter().any(|(p, h)| p == &id && h == &f));
    let earlier = f.created_at - chrono::Duration::seconds(1);
    let stale = backend.inventory.list_stale(earlier, 1000).await.unwrap();
    assert!(stale.iter().all(|(_, h)| h.id != f.id));
    // Deleting a record.
    assert!(backend.inventory.delete(&id).await.unwrap());
    assert!(!backend.inventory.delete(&id).await.unwrap());
    assert!(backend.inventory.get(&id).await.unwrap().is_none());
}

/// 500 concurrent reservations of 1 unit against a stock of 100.
pub async fn concurrent_reserves_never_oversell(backend: &Backend) {
    let id = fresh_inventory(backend, 100).await;
    let holds: Vec<Reservation> = (0..500).map(|_| hold(backend, 1)).collect();
    let racing = super::interleaved(backend);
    let results = super::rush(500, |i| {
        let (racing, id, h) = (racing.clone(), id.clone(), holds[i].clone());
        async move { racing.inventory.reserve(&id, &[h]).await }
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
    assert_eq!(inv.received(), 100);
}

/// Concurrent releases and settles of the same holds: each hold moves exactly once, to one
/// side.
pub async fn concurrent_releases_and_settles_move_once(backend: &Backend) {
    let id = fresh_inventory(backend, 50).await;
    let holds: Vec<Reservation> = (0..10).map(|_| hold(backend, 5)).collect();
    backend.inventory.reserve(&id, &holds).await.unwrap();
    let racing = super::interleaved(backend);
    let results = super::rush(40, |i| {
        let (racing, id, h) = (racing.clone(), id.clone(), holds[i % 10].clone());
        async move {
            if i % 2 == 0 {
                racing.inventory.release(&id, &[h]).await
            } else {
                racing.inventory.settle(&id, &[h]).await
            }
        }
    })
    .await;
    let moved: Vec<u64> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(
        moved.iter().filter(|q| **q > 0).count(),
        10,
        "each hold moves once"
    );
    assert_eq!(moved.iter().sum::<u64>(), 50);
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!((inv.reserved(), inv.received()), (0, 50));
}

/// The batched moves (one call for several products) keep each product's rules: all or
/// nothing per product, one answer per product, settling only what is open.
pub async fn batched_moves_across_products(backend: &Backend) {
    let (a, b, c) = (
        fresh_inventory(backend, 10).await,
        fresh_inventory(backend, 1).await,
        fresh_inventory(backend, 5).await,
    );
    let (ha, hb, hc) = (hold(backend, 4), hold(backend, 2), hold(backend, 5));
    let ha2 = hold(backend, 3);
    let results = backend
        .inventory
        .reserve_many(&[
            (a.clone(), vec![ha.clone(), ha2.clone()]),
            (b.clone(), vec![hb.clone()]),
            (c.clone(), vec![hc.clone()]),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(results[1], Err(Error::InsufficientStock { .. })),
        "{results:?}"
    );
    let stock = |id: &ProductId| {
        let backend = backend.clone();
        let id = id.clone();
        async move {
            let i = backend.inventory.get(&id).await.unwrap().unwrap();
            (i.stock, i.reserved(), i.sold)
        }
    };
    assert_eq!(stock(&a).await, (3, 7, 0));
    assert_eq!(stock(&b).await, (1, 0, 0), "nothing of b was taken");
    assert_eq!(stock(&c).await, (0, 5, 0));
    // Settle across products, with one hold already released: only open holds move.
    backend
        .inventory
        .release(&a, std::slice::from_ref(&ha2))
        .await
        .unwrap();
    backend
        .inventory
        .settle_many(&[
            (a.clone(), vec![ha.clone(), ha2.clone()]),
            (c.clone(), vec![hc.clone()]),
        ])
        .await
        .unwrap();
    assert_eq!(stock(&a).await, (6, 0, 4));
    assert_eq!(stock(&c).await, (0, 0, 5));
    backend
        .inventory
        .settle_many(&[(a.clone(), vec![ha]), (c.clone(), vec![hc])])
        .await
        .unwrap();
    assert_eq!(stock(&a).await, (6, 0, 4), "settling twice is once");
    let missing = backend
        .inventory
        .reserve_many(&[
            (ProductId::generate(), vec![hold(backend, 1)]),
            (b.clone(), vec![hold(backend, 1)]),
        ])
        .await
        .unwrap();
    assert!(
        matches!(missing[0], Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(missing[1].is_ok(), "{missing:?}");
}
