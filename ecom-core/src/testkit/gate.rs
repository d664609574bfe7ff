//! Cases for [`StockGate`](crate::gate::StockGate) and the gate checkout strategy.

use super::checkout::{
    assert_stock_matches_orders, ecom_with, out_of_stock, place, placed_orders, request,
    rush_checkouts,
};
use super::{assert_race, interleaved, rush};
use super::{published_product, shop};
use crate::backend::Backend;
use crate::gate::{Admission, GateLine};
use crate::id::{CustomerId, ProductId};
use crate::service::CheckoutStrategy;

fn line(product: &ProductId, quantity: u32) -> GateLine {
    GateLine {
        product_id: product.clone(),
        quantity,
    }
}

pub async fn admits_all_or_nothing(backend: &Backend) {
    let gate = &backend.gate;
    let now = backend.clock.now();
    let (p1, p2, p3) = (
        ProductId::generate(),
        ProductId::generate(),
        ProductId::generate(),
    );
    assert_eq!(gate.available(&p1).await.unwrap(), None);
    assert_eq!(
        gate.admit("c0", &[line(&p1, 1), line(&p3, 1)], now)
            .await
            .unwrap(),
        Admission::Unseeded {
            product_ids: vec![p1.clone(), p3.clone()]
        }
    );
    gate.seed(&p1, 5).await.unwrap();
    gate.seed(&p1, 99).await.unwrap();
    gate.seed(&p2, 1).await.unwrap();
    assert_eq!(
        gate.available(&p1).await.unwrap(),
        Some(5),
        "seeding keeps the first count"
    );
    let both = [line(&p1, 2), line(&p2, 1)];
    assert_eq!(
        gate.admit("c1", &both, now).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        gate.admit("c1", &both, now).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        gate.available(&p1).await.unwrap(),
        Some(3),
        "admitting twice takes once"
    );
    let later = now + chrono::Duration::seconds(1);
    let stale = gate.list_stale(later, 1000).await.unwrap();
    let c1 = stale
        .iter()
        .find(|(id, _)| id == "c1")
        .expect("c1 is listed");
    let mut held = c1.1.clone();
    held.sort();
    let mut both_ids = vec![p1.clone(), p2.clone()];
    both_ids.sort();
    assert_eq!(held, both_ids);
    assert!(gate
        .list_stale(now - chrono::Duration::seconds(1), 1000)
        .await
        .unwrap()
        .iter()
        .all(|(id, _)| id != "c1"));
    assert_eq!(
        gate.admit("c2", &[line(&p1, 1), line(&p2, 1)], now)
            .await
            .unwrap(),
        Admission::Refused {
            product_id: p2.clone()
        }
    );
    assert_eq!(
        gate.available(&p1).await.unwrap(),
        Some(3),
        "a refusal takes nothing"
    );
    // Partial release (one cancelled line), then the rest, then again: idempotent.
    gate.release("c1", std::slice::from_ref(&p2)).await.unwrap();
    assert_eq!(gate.available(&p2).await.unwrap(), Some(1));
    gate.release("c1", &[p1.clone(), p2.clone()]).await.unwrap();
    gate.release("c1", &[p1.clone(), p2.clone()]).await.unwrap();
    gate.release("unknown", std::slice::from_ref(&p1))
        .await
        .unwrap();
    assert_eq!(gate.available(&p1).await.unwrap(), Some(5));
    assert_eq!(gate.available(&p2).await.unwrap(), Some(1));
    gate.add(&p1, 10).await.unwrap();
    gate.add(&p3, 10).await.unwrap();
    assert_eq!(gate.available(&p1).await.unwrap(), Some(15));
    assert_eq!(
        gate.available(&p3).await.unwrap(),
        None,
        "adding does not seed"
    );
    // A committed admission keeps its units and is forgotten: releasing it returns nothing.
    assert_eq!(
        gate.admit("c3", &[line(&p1, 4)], now).await.unwrap(),
        Admission::Admitted
    );
    gate.commit("c3").await.unwrap();
    gate.commit("c3").await.unwrap();
    gate.release("c3", std::slice::from_ref(&p1)).await.unwrap();
    assert_eq!(gate.available(&p1).await.unwrap(), Some(11));
    assert!(gate
        .list_stale(now + chrono::Duration::seconds(1), 1000)
        .await
        .unwrap()
        .iter()
        .all(|(id, _)| id != "c3"));
    gate.reset(&p1).await.unwrap();
    assert_eq!(gate.available(&p1).await.unwrap(), None);
}

/// 500 concurrent admissions of one unit against a count of 100.
pub async fn concurrent_admissions_never_exceed_the_count(backend: &Backend) {
    let product = ProductId::generate();
    backend.gate.seed(&product, 100).await.unwrap();
    let now = backend.clock.now();
    let racing = interleaved(backend);
    let results = rush(500, |i| {
        let (racing, product) = (racing.clone(), product.clone());
        async move {
            racing
                .gate
                .admit(&format!("c{i}"), &[line(&product, 1)], now)
                .await
        }
    })
    .await;
    let admitted = results
        .iter()
        .filter(|r| matches!(r, Ok(Admission::Admitted)))
        .count();
    for r in &results {
        assert!(
            matches!(r, Ok(Admission::Admitted) | Ok(Admission::Refused { .. })),
            "an admission either passes or is refused: {r:?}"
        );
    }
    assert_eq!(admitted, 100);
    assert_eq!(backend.gate.available(&product).await.unwrap(), Some(0));
}

/// 1,000 concurrent single-line orders against stock 100 through the gate.
pub async fn thousand_orders_through_the_gate(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "3.00", 100).await;
    let results = rush_checkouts(&ecom, 1000, |_| {
        let req = request(&shop, &[(&product, 1)], None);
        (CustomerId::generate(), place(req, None))
    })
    .await;
    assert_race(&results, 100, out_of_stock, "1,000 orders through the gate");
    let orders = placed_orders(results, out_of_stock);
    assert_stock_matches_orders(backend, &[(product.id.clone(), 100)], &orders).await;
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(0));
}

/// A gate that counts too high cannot oversell (the store refuses and the admission is given
/// back); one that counts too low refuses until rebuilt from the store on demand.
pub async fn a_gate_out_of_sync_never_oversells(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let high = published_product(&ecom, &shop, "1.00", 10).await;
    backend.gate.seed(&high.id, 1000).await.unwrap();
    let results = rush_checkouts(&ecom, 100, |_| {
        let req = request(&shop, &[(&high, 1)], None);
        (CustomerId::generate(), place(req, None))
    })
    .await;
    assert_race(
        &results,
        10,
        out_of_stock,
        "a gate counting 1,000 over stock 10",
    );
    let orders = placed_orders(results, out_of_stock);
    assert_stock_matches_orders(backend, &[(high.id.clone(), 10)], &orders).await;
    assert_eq!(
        backend.gate.available(&high.id).await.unwrap(),
        Some(990),
        "refused checkouts gave their admission back"
    );

    let low = published_product(&ecom, &shop, "1.00", 10).await;
    backend.gate.seed(&low.id, 0).await.unwrap();
    let req = request(&shop, &[(&low, 1)], None);
    assert!(matches!(
        ecom.checkout
            .place_order(&CustomerId::generate(), place(req.clone(), None))
            .await,
        Err(crate::Error::InsufficientStock { .. })
    ));
    assert_stock_matches_orders(backend, &[(low.id.clone(), 10)], &[]).await;
    assert_eq!(
        ecom.inventory.rebuild_gate(&shop, &low.id).await.unwrap(),
        10
    );
    let mut orders = Vec::new();
    for _ in 0..10 {
        orders.push(
            ecom.checkout
                .place_order(&CustomerId::generate(), place(req.clone(), None))
                .await
                .unwrap(),
        );
    }
    assert_stock_matches_orders(backend, &[(low.id.clone(), 10)], &orders).await;
    assert_eq!(backend.gate.available(&low.id).await.unwrap(), Some(0));
}

/// Cancelled orders and added stock flow back into the gate.
pub async fn cancels_and_restocks_reach_the_gate(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", 2).await;
    let customer = CustomerId::generate();
    let order = ecom
        .checkout
        .place_order(
            &customer,
            place(request(&shop, &[(&product, 2)], None), None),
        )
        .await
        .unwrap();
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(0));
    ecom.orders.cancel(&customer, &order.id).await.unwrap();
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(2));
    ecom.inventory
        .add_stock(&shop, &product.id, 3, None)
        .await
        .unwrap();
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(5));
    let order = ecom
        .checkout
        .place_order(
            &customer,
            place(request(&shop, &[(&product, 5)], None), None),
        )
        .await
        .unwrap();
    assert_stock_matches_orders(backend, &[(product.id.clone(), 5)], &[order]).await;
}
