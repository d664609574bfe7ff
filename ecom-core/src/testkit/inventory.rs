//! Cases for [`InventoryRepo`](crate::inventory::InventoryRepo) and the inventory service,
//! including the stock invariant under concurrency and stock adjustments.

use super::checkout::{assert_stock_matches_orders, ecom_with, out_of_stock, place, request};
use super::{ecom, interleaved, published_product, rush, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{AdjustmentId, CustomerId, OrderId, ProductId, ShopId};
use crate::inventory::{
    Adjusted, Inventory, NewAdjustment, Reservation, StockAdjustment, StockChange,
    ADJUSTMENT_HISTORY, MAX_SET_STOCK,
};
use crate::order::Order;
use crate::page::Page;
use crate::service::{CheckoutStrategy, Ecom};

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
        model_of: None,
        product_id: ProductId::generate(),
        shop_id: ShopId::generate(),
        location: "Hanoi".into(),
        stock,
        sold: 0,
        damaged: 0,
        reservations: Vec::new(),
        retired: false,
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
        .add_stock(&shop, &product.id, None, 15, Some("Warehouse 7"))
        .await
        .unwrap();
    assert_eq!(after.stock, 25);
    assert_eq!(after.location, "Warehouse 7");
    let got = ecom.inventory.get(&shop, &product.id).await.unwrap();
    assert_eq!(got.total.stock, 25);
    for bad in [0, 1_000_001] {
        assert!(matches!(
            ecom.inventory
                .add_stock(&shop, &product.id, None, bad, None)
                .await,
            Err(Error::Validation { .. })
        ));
    }
    assert!(matches!(
        ecom.inventory
            .add_stock(&shop, &ProductId::generate(), None, 1, None)
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
/// twice), release, settle, unsettle; each hold moves once.
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
}

/// Stale holds are listed, fresh ones are not; a record is deleted once.
pub async fn stale_holds_are_listed_and_records_deleted(backend: &Backend) {
    let id = fresh_inventory(backend, 10).await;
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

/// An adjustment of `product` by `by` through the port, with a new id.
fn adjustment(
    backend: &Backend,
    product: &ProductId,
    by: &ShopId,
    change: StockChange,
) -> NewAdjustment {
    NewAdjustment {
        id: AdjustmentId::generate(),
        product_id: product.clone(),
        model_id: None,
        change,
        reason: "Suite adjustment".into(),
        by: by.clone(),
        at: backend.clock.now(),
    }
}

/// Every adjustment of `product` the store keeps, newest first, read page by page.
async fn all_adjustments(backend: &Backend, product: &ProductId) -> Vec<StockAdjustment> {
    let mut all = Vec::new();
    for number in 1.. {
        let page = backend
            .inventory
            .adjustments(product, Page::numbered(number, 100).unwrap())
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    all
}

/// `received()` of `product`, checked against its first stock plus its adjustments' deltas.
async fn assert_received_is_first_stock_plus_adjustments(
    backend: &Backend,
    product: &ProductId,
    first: u64,
) -> Inventory {
    let inv = backend.inventory.get(product).await.unwrap().unwrap();
    let deltas: i64 = all_adjustments(backend, product)
        .await
        .iter()
        .map(|a| a.delta)
        .sum();
    assert_eq!(
        i128::from(inv.received()),
        i128::from(first) + i128::from(deltas),
        "stock + sold + reserved == first stock + the adjustments' deltas"
    );
    inv
}

/// Adjustments up, down, to a count, to zero: each recorded with the delta it applied and the
/// stock after it, newest first; bad input and other shops change nothing.
pub async fn adjust_up_down_and_to_zero(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "4.00", 10).await;
    let adjust = |change: StockChange, reason: &'static str| {
        let (ecom, shop, id) = (ecom.clone(), shop.clone(), product.id.clone());
        async move {
            ecom.inventory
                .adjust(&shop, &id, None, change, reason)
                .await
                .unwrap()
        }
    };
    let up = adjust(StockChange::Delta(5), "  Found a box  ").await;
    assert_eq!(
        (
            up.adjustment.delta,
            up.adjustment.stock_after,
            up.inventory.stock
        ),
        (5, 15, 15)
    );
    assert_eq!(up.adjustment.reason, "Found a box", "the reason is trimmed");
    assert_eq!(
        (
            &up.adjustment.product_id,
            &up.adjustment.by,
            &up.adjustment.model_id
        ),
        (&product.id, &shop, &None)
    );
    let steps = [
        up,
        adjust(StockChange::Delta(-4), "Damaged in transit").await,
        adjust(StockChange::Set(11), "Stock count, found right").await,
        adjust(StockChange::Set(0), "Recall").await,
        adjust(StockChange::Set(3), "Stock count").await,
    ];
    let applied: Vec<(i64, u64)> = steps
        .iter()
        .map(|s| (s.adjustment.delta, s.adjustment.stock_after))
        .collect();
    assert_eq!(applied, [(5, 15), (-4, 11), (0, 11), (-11, 0), (3, 3)]);
    for step in &steps {
        assert_eq!(step.inventory.stock, step.adjustment.stock_after);
    }
    let history = ecom
        .inventory
        .adjustments(&shop, &product.id, None, Page::default())
        .await
        .unwrap();
    let expected: Vec<StockAdjustment> = steps.iter().rev().map(|s| s.adjustment.clone()).collect();
    assert_eq!(history, expected, "the history, newest first");
    let inv = assert_received_is_first_stock_plus_adjustments(backend, &product.id, 10).await;
    assert_eq!(inv.stock, 3);

    // Bad input and other shops: refused, nothing changes.
    let long = "r".repeat(201);
    let refused: [(StockChange, &str, &str); 9] = [
        (StockChange::Delta(0), "Nothing", "delta"),
        (StockChange::Delta(1_000_001), "Too many", "delta"),
        (StockChange::Delta(-1_000_001), "Too many", "delta"),
        (StockChange::Delta(i64::MIN), "Too many", "delta"),
        (StockChange::Set(MAX_SET_STOCK + 1), "Too many", "set"),
        (StockChange::Set(u64::MAX), "Too many", "set"),
        (StockChange::Delta(1), "   ", "reason"),
        (StockChange::Delta(1), &long, "reason"),
        (StockChange::Delta(1), "bad\u{0}reason", "reason"),
    ];
    for (change, reason, field) in refused {
        match ecom
            .inventory
            .adjust(&shop, &product.id, None, change, reason)
            .await
        {
            Err(Error::Validation { field: named, .. }) => assert_eq!(named, field, "{change:?}"),
            other => panic!("{change:?} {reason:?}: {other:?}"),
        }
    }
    let (other_shop, _) = super::shop(&ecom).await;
    assert!(matches!(
        ecom.inventory
            .adjust(
                &other_shop,
                &product.id,
                None,
                StockChange::Delta(1),
                "Not mine"
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ecom.inventory
            .adjustments(&other_shop, &product.id, None, Page::default())
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ecom.inventory
            .adjust(
                &shop,
                &ProductId::generate(),
                None,
                StockChange::Delta(1),
                "Unknown"
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(backend.inventory.get(&product.id).await.unwrap(), Some(inv));
    assert_eq!(all_adjustments(backend, &product.id).await, expected);
}

/// Only free units can be taken away: an adjustment that would take the stock below zero is a
/// conflict that changes nothing (neither the stock nor the history); to exactly zero is fine.
/// The port applies an adjustment id once.
pub async fn adjust_below_zero_changes_nothing(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "4.00", 10).await;
    let id = &product.id;
    // 4 units held by a checkout, 2 sold: 4 free.
    let (held, sold) = (hold(backend, 4), hold(backend, 2));
    backend
        .inventory
        .reserve(id, &[held.clone(), sold.clone()])
        .await
        .unwrap();
    assert_eq!(
        backend
            .inventory
            .settle(id, std::slice::from_ref(&sold))
            .await
            .unwrap(),
        2
    );
    let before = backend.inventory.get(id).await.unwrap().unwrap();
    assert_eq!((before.stock, before.reserved(), before.sold), (4, 4, 2));
    for change in [StockChange::Delta(-5), StockChange::Delta(-1_000_000)] {
        let refused = ecom
            .inventory
            .adjust(&shop, id, None, change, "Too many")
            .await;
        assert!(
            matches!(
                refused,
                Err(Error::Conflict {
                    entity: "inventory",
                    ..
                })
            ),
            "{change:?}: {refused:?}"
        );
        let port = backend
            .inventory
            .adjust(&adjustment(backend, id, &shop, change))
            .await;
        assert!(matches!(port, Err(Error::Conflict { .. })), "{port:?}");
    }
    assert_eq!(
        backend.inventory.get(id).await.unwrap().unwrap(),
        before,
        "a refused adjustment changes nothing"
    );
    assert!(
        all_adjustments(backend, id).await.is_empty(),
        "and records nothing"
    );

    let to_zero = ecom
        .inventory
        .adjust(&shop, id, None, StockChange::Delta(-4), "Lost")
        .await
        .unwrap();
    assert_eq!(
        (to_zero.adjustment.stock_after, to_zero.inventory.stock),
        (0, 0)
    );
    assert_eq!(
        (to_zero.inventory.reserved(), to_zero.inventory.sold),
        (4, 2),
        "held and sold units are untouched"
    );
    assert!(matches!(
        ecom.inventory
            .adjust(&shop, id, None, StockChange::Delta(-1), "One more")
            .await,
        Err(Error::Conflict { .. })
    ));
    let counted = ecom
        .inventory
        .adjust(&shop, id, None, StockChange::Set(0), "Counted: none left")
        .await
        .unwrap();
    assert_eq!(
        (counted.adjustment.delta, counted.adjustment.stock_after),
        (0, 0)
    );

    // The port applies an id once, whatever a retry asks for.
    let new = adjustment(backend, id, &shop, StockChange::Delta(7));
    let first = backend.inventory.adjust(&new).await.unwrap();
    let retried = NewAdjustment {
        change: StockChange::Delta(100),
        ..new.clone()
    };
    let again = backend.inventory.adjust(&retried).await.unwrap();
    assert_eq!(again.adjustment, first.adjustment);
    assert_eq!((first.inventory.stock, again.inventory.stock), (7, 7));
    let history = all_adjustments(backend, id).await;
    let deltas: Vec<i64> = history.iter().map(|a| a.delta).collect();
    assert_eq!(deltas, [7, 0, -4]);
    assert!(matches!(
        backend
            .inventory
            .adjust(&adjustment(
                backend,
                &ProductId::generate(),
                &shop,
                StockChange::Delta(1)
            ))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(backend
        .inventory
        .adjustments(&ProductId::generate(), Page::default())
        .await
        .unwrap()
        .is_empty());
    assert_received_is_first_stock_plus_adjustments(backend, id, 10).await;
}

/// What one racing task did.
enum Raced {
    Ordered(Box<Order>),
    Adjusted(Box<Adjusted>),
    Refused,
}

/// 20 tasks on one product through the gate: checkouts of 2 units, adjustments down by 3, up by
/// 2, and one stock count to 5. Every unit stays accounted for (`stock + sold + reserved` is
/// the first stock plus the recorded deltas), the history holds exactly the adjustments that
/// succeeded, the units sold are exactly the orders', and the gate agrees with the store.
pub async fn adjustments_racing_checkouts_keep_the_invariant(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "2.00", 20).await;
    let racing = Ecom::new(interleaved(backend), ecom.config().clone());
    let results = rush(20, |i| {
        let (racing, shop, product) = (racing.clone(), shop.clone(), product.clone());
        async move {
            if i % 2 == 0 {
                let input = place(request(&shop, &[(&product, 2)], None), None);
                return match racing
                    .checkout
                    .place_order(&CustomerId::generate(), input)
                    .await
                {
                    Ok(order) => Raced::Ordered(Box::new(order)),
                    Err(e) if out_of_stock(&e) => Raced::Refused,
                    Err(e) => panic!("checkout {i}: {e:?}"),
                };
            }
            let change = if i == 19 {
                StockChange::Set(5)
            } else if i % 4 == 1 {
                StockChange::Delta(-3)
            } else {
                StockChange::Delta(2)
            };
            match racing
                .inventory
                .adjust(&shop, &product.id, None, change, "Racing")
                .await
            {
                Ok(adjusted) => Raced::Adjusted(Box::new(adjusted)),
                Err(Error::Conflict { .. }) => Raced::Refused,
                Err(e) => panic!("adjustment {i}: {e:?}"),
            }
        }
    })
    .await;
    racing.checkout.flush().await;
    let mut orders = Vec::new();
    let mut adjusted = Vec::new();
    for result in results {
        match result {
            Raced::Ordered(order) => orders.push(*order),
            Raced::Adjusted(a) => adjusted.push(a.adjustment),
            Raced::Refused => {}
        }
    }
    let history = all_adjustments(backend, &product.id).await;
    let mut recorded: Vec<&AdjustmentId> = history.iter().map(|a| &a.id).collect();
    let mut succeeded: Vec<&AdjustmentId> = adjusted.iter().map(|a| &a.id).collect();
    recorded.sort();
    succeeded.sort();
    assert_eq!(
        recorded, succeeded,
        "the history holds exactly the adjustments made"
    );
    let deltas: i64 = history.iter().map(|a| a.delta).sum();
    assert_eq!(deltas, adjusted.iter().map(|a| a.delta).sum::<i64>());
    let received = u64::try_from(20 + deltas).unwrap();
    assert_stock_matches_orders(backend, &[(product.id.clone(), received)], &orders).await;
    let inv = assert_received_is_first_stock_plus_adjustments(backend, &product.id, 20).await;
    ecom.inventory.reconcile_gate().await.unwrap();
    assert_eq!(
        backend.gate.available(&product.id).await.unwrap(),
        Some(inv.stock)
    );
}

/// The history lists newest first, page by page, and keeps the newest
/// [`ADJUSTMENT_HISTORY`] of a product.
pub async fn adjustment_history_pages_newest_first_and_is_bounded(backend: &Backend) {
    let id = fresh_inventory(backend, 0).await;
    let other = fresh_inventory(backend, 0).await;
    let shop = ShopId::generate();
    let total = ADJUSTMENT_HISTORY + 5;
    let mut ids = Vec::with_capacity(total);
    for i in 0..total {
        let mut new = adjustment(backend, &id, &shop, StockChange::Delta(1));
        new.reason = format!("unit {i}");
        let adjusted = backend.inventory.adjust(&new).await.unwrap();
        assert_eq!(adjusted.adjustment.stock_after, i as u64 + 1);
        ids.push(adjusted.adjustment.id);
    }
    backend
        .inventory
        .adjust(&adjustment(backend, &other, &shop, StockChange::Set(9)))
        .await
        .unwrap();
    let first = backend
        .inventory
        .adjustments(&id, Page::numbered(1, 10).unwrap())
        .await
        .unwrap();
    let reasons: Vec<&str> = first.iter().map(|a| a.reason.as_str()).collect();
    let newest: Vec<String> = (total - 10..total)
        .rev()
        .map(|i| format!("unit {i}"))
        .collect();
    assert_eq!(reasons, newest, "newest first");
    let second = backend
        .inventory
        .adjustments(&id, Page::offset(10, 3).unwrap())
        .await
        .unwrap();
    let after: Vec<u64> = second.iter().map(|a| a.stock_after).collect();
    let top = total as u64;
    assert_eq!(after, [top - 10, top - 11, top - 12]);
    let all = all_adjustments(backend, &id).await;
    assert_eq!(all.len(), ADJUSTMENT_HISTORY, "the history is bounded");
    let kept: Vec<&AdjustmentId> = ids[total - ADJUSTMENT_HISTORY..].iter().rev().collect();
    assert_eq!(
        all.iter().map(|a| &a.id).collect::<Vec<_>>(),
        kept,
        "the newest are kept"
    );
    let inv = backend.inventory.get(&id).await.unwrap().unwrap();
    assert_eq!(
        inv.stock, top,
        "dropping old records never changes the stock"
    );
    let others = all_adjustments(backend, &other).await;
    assert_eq!(others.len(), 1, "each product has its own history");
    assert_eq!((others[0].delta, others[0].stock_after), (9, 9));
}

/// 10 concurrent calls with one adjustment id (a caller retrying after lost replies): the
/// adjustment is applied and recorded once, and every call answers with that record.
pub async fn concurrent_retries_of_one_adjustment_apply_it_once(backend: &Backend) {
    let id = fresh_inventory(backend, 5).await;
    let new = adjustment(backend, &id, &ShopId::generate(), StockChange::Delta(-2));
    let racing = interleaved(backend);
    let results = rush(10, |_| {
        let (racing, new) = (racing.clone(), new.clone());
        async move { racing.inventory.adjust(&new).await }
    })
    .await;
    let records: Vec<StockAdjustment> =
        results.into_iter().map(|r| r.unwrap().adjustment).collect();
    assert!(records.iter().all(|r| r == &records[0]), "{records:?}");
    assert_eq!((records[0].delta, records[0].stock_after), (-2, 3));
    let history = all_adjustments(backend, &id).await;
    assert_eq!(history, records[..1]);
    let inv = assert_received_is_first_stock_plus_adjustments(backend, &id, 5).await;
    assert_eq!(inv.stock, 3);
}
