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
use crate::inventory::StockChange;
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
    let before = gate.tally(&p1).await.unwrap();
    assert_eq!(
        (before.count, before.open),
        (Some(11), 4),
        "admitted units are open"
    );
    gate.commit("c3", std::slice::from_ref(&p1)).await.unwrap();
    gate.commit("c3", std::slice::from_ref(&p1)).await.unwrap();
    let after = gate.tally(&p1).await.unwrap();
    assert_eq!(
        (after.count, after.open),
        (Some(11), 0),
        "committed units leave"
    );
    assert_eq!(
        after.epoch,
        before.epoch + 1,
        "a commit moves the epoch once"
    );
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

/// Healing: seeds a missing count with stock less open units, only raises a count (unless the
/// product is idle and asked to be exact), and changes nothing once the epoch has moved.
pub async fn heal_never_counts_twice(backend: &Backend) {
    let gate = &backend.gate;
    let now = backend.clock.now();
    let p = ProductId::generate();
    let t = gate.tally(&p).await.unwrap();
    assert_eq!((t.count, t.open), (None, 0));
    // Admitted units of a checkout still running are not counted again by a seed.
    gate.seed(&p, 10).await.unwrap();
    assert_eq!(
        gate.admit("h1", &[line(&p, 3)], now).await.unwrap(),
        Admission::Admitted
    );
    gate.reset(&p).await.unwrap();
    let t = gate.tally(&p).await.unwrap();
    assert_eq!((t.count, t.open), (None, 3));
    assert_eq!(gate.heal(&p, 10, t.epoch, false).await.unwrap(), Some(7));
    assert!(gate.counted(None, 1000).await.unwrap().contains(&p));
    // Never lowered without `exact_when_idle`, raised to stock less open units.
    assert_eq!(gate.heal(&p, 5, t.epoch, false).await.unwrap(), Some(7));
    assert_eq!(gate.heal(&p, 12, t.epoch, false).await.unwrap(), Some(9));
    // Not lowered while admissions are open, even when asked to be exact.
    assert_eq!(gate.heal(&p, 5, t.epoch, true).await.unwrap(), Some(9));
    // A stale store read is refused once the epoch moved (a commit, an addition).
    gate.commit("h1", std::slice::from_ref(&p)).await.unwrap();
    assert_eq!(gate.heal(&p, 100, t.epoch, false).await.unwrap(), None);
    let t = gate.tally(&p).await.unwrap();
    assert_eq!((t.count, t.open), (Some(9), 0));
    gate.add(&p, 1).await.unwrap();
    assert_eq!(gate.heal(&p, 100, t.epoch, false).await.unwrap(), None);
    let t = gate.tally(&p).await.unwrap();
    assert_eq!(t.count, Some(10));
    // Idle and exact: set to the store's stock, even lower.
    assert_eq!(gate.heal(&p, 4, t.epoch, true).await.unwrap(), Some(4));
    assert_eq!(gate.available(&p).await.unwrap(), Some(4));
    // Paging through counted products.
    let mut all = Vec::new();
    let mut after: Option<ProductId> = None;
    loop {
        let page = gate.counted(after.as_ref(), 1).await.unwrap();
        let Some(last) = page.last().cloned() else {
            break;
        };
        all.extend(page);
        after = Some(last);
    }
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(all, sorted, "counted products come once each, in id order");
    assert!(all.contains(&p));
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
/// back) and is set exactly by the reconcile; one that counts too low heals itself from the
/// store on the next refusal, with no operator action.
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
    let report = ecom.inventory.reconcile_gate().await.unwrap();
    assert!(report.corrected >= 1, "{report:?}");
    assert_eq!(backend.gate.available(&high.id).await.unwrap(), Some(0));

    let low = published_product(&ecom, &shop, "1.00", 10).await;
    backend.gate.seed(&low.id, 0).await.unwrap();
    let req = request(&shop, &[(&low, 1)], None);
    let mut orders = Vec::new();
    for _ in 0..10 {
        orders.push(
            ecom.checkout
                .place_order(&CustomerId::generate(), place(req.clone(), None))
                .await
                .expect("the store has stock: the gate heals and admits"),
        );
    }
    assert!(matches!(
        ecom.checkout
            .place_order(&CustomerId::generate(), place(req.clone(), None))
            .await,
        Err(crate::Error::InsufficientStock { .. })
    ));
    assert_stock_matches_orders(backend, &[(low.id.clone(), 10)], &orders).await;
    assert_eq!(backend.gate.available(&low.id).await.unwrap(), Some(0));
}

/// Units the gate lost for good (an admission taken with no order behind it) come back through
/// healing while checkouts rush: no oversell, and once the rush is over every unit the store
/// still has sells.
pub async fn an_undercounting_gate_heals_under_a_rush(backend: &Backend) {
    let mut ecom = ecom_with(backend, CheckoutStrategy::Gate);
    let mut config = (*ecom.config()).clone();
    config.checkout.gate_heal_every = std::time::Duration::ZERO;
    ecom = crate::Ecom::new(backend.clone(), config);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", 50).await;
    backend.gate.seed(&product.id, 50).await.unwrap();
    let ghost = [line(&product.id, 20)];
    let now = backend.clock.now();
    assert_eq!(
        backend.gate.admit("ghost", &ghost, now).await.unwrap(),
        Admission::Admitted
    );
    backend
        .gate
        .commit("ghost", std::slice::from_ref(&product.id))
        .await
        .unwrap();
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(30));
    let results = rush_checkouts(&ecom, 200, |_| {
        let req = request(&shop, &[(&product, 1)], None);
        (CustomerId::generate(), place(req, None))
    })
    .await;
    let mut orders = placed_orders(results, out_of_stock);
    assert!(
        orders.len() >= 30 && orders.len() <= 50,
        "{} orders",
        orders.len()
    );
    ecom.checkout.flush().await;
    let req = request(&shop, &[(&product, 1)], None);
    while orders.len() < 60 {
        // One at a time, each settled before the next: a heal racing the previous order's
        // background settlement (which moves the gate's epoch) may refuse once and is asked
        // again by the next checkout, which this loop would read as sold out.
        ecom.checkout.flush().await;
        match ecom
            .checkout
            .place_order(&CustomerId::generate(), place(req.clone(), None))
            .await
        {
            Ok(order) => orders.push(order),
            Err(crate::Error::InsufficientStock { .. }) => break,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(orders.len(), 50, "every unit in the store sold, none more");
    assert_stock_matches_orders(backend, &[(product.id.clone(), 50)], &orders).await;
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
        .add_stock(&shop, &product.id, None, 3, None)
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

/// Taking units: lowers a count (never below zero), leaves a missing count missing, keeps open
/// admissions' units, and moves the epoch, so a heal that read the store before is refused.
pub async fn take_floors_at_zero_and_moves_the_epoch(backend: &Backend) {
    let gate = &backend.gate;
    let now = backend.clock.now();
    let p = ProductId::generate();
    let t = gate.tally(&p).await.unwrap();
    gate.take(&p, 3).await.unwrap();
    let after = gate.tally(&p).await.unwrap();
    assert_eq!(after.count, None, "taking does not seed");
    assert_eq!(after.epoch, t.epoch + 1, "taking moves the epoch");
    gate.seed(&p, 10).await.unwrap();
    assert_eq!(
        gate.admit("t1", &[line(&p, 2)], now).await.unwrap(),
        Admission::Admitted
    );
    let t = gate.tally(&p).await.unwrap();
    assert_eq!((t.count, t.open), (Some(8), 2));
    gate.take(&p, 5).await.unwrap();
    assert_eq!(gate.available(&p).await.unwrap(), Some(3));
    assert_eq!(
        gate.heal(&p, 100, t.epoch, false).await.unwrap(),
        None,
        "a store read from before the take heals nothing"
    );
    gate.take(&p, 1_000).await.unwrap();
    let t = gate.tally(&p).await.unwrap();
    assert_eq!(
        (t.count, t.open),
        (Some(0), 2),
        "never below zero; admissions stay open"
    );
    gate.release("t1", std::slice::from_ref(&p)).await.unwrap();
    assert_eq!(gate.available(&p).await.unwrap(), Some(2));
}

/// Adjustments move the gate with the store: up adds, down takes, a count of the same stock
/// leaves it, a refused one leaves it; the gate then admits exactly what the store has.
pub async fn adjustments_reach_the_gate(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", 10).await;
    backend.gate.seed(&product.id, 10).await.unwrap();
    let steps = [
        (StockChange::Delta(5), Some(15)),
        (StockChange::Delta(-12), Some(3)),
        (StockChange::Set(7), Some(7)),
        (StockChange::Set(7), Some(7)),
        (StockChange::Delta(-8), None),
    ];
    for (change, stock) in steps {
        let adjusted = ecom
            .inventory
            .adjust(&shop, &product.id, None, change, "Gate follows")
            .await;
        match stock {
            Some(stock) => assert_eq!(adjusted.unwrap().inventory.stock, stock),
            None => assert!(matches!(adjusted, Err(crate::Error::Conflict { .. }))),
        }
        assert_eq!(
            backend.gate.available(&product.id).await.unwrap(),
            Some(stock.unwrap_or(7)),
            "{change:?}"
        );
    }
    let customer = CustomerId::generate();
    let order = ecom
        .checkout
        .place_order(
            &customer,
            place(request(&shop, &[(&product, 7)], None), None),
        )
        .await
        .unwrap();
    assert!(matches!(
        ecom.checkout
            .place_order(
                &customer,
                place(request(&shop, &[(&product, 1)], None), None),
            )
            .await,
        Err(crate::Error::InsufficientStock { .. })
    ));
    assert_stock_matches_orders(backend, &[(product.id.clone(), 7)], &[order]).await;
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(0));
}

/// A gate that fails right after the store took an adjustment does not fail the adjustment
/// (retrying it would apply it twice): the store changed, and the gate, counting high or low
/// for a while, is set right by the reconcile.
pub async fn a_failing_gate_does_not_fail_an_adjustment(backend: &Backend) {
    use super::probe::{Fault, FaultMode, Probe, Target};
    let probe = Probe::new();
    let ecom = ecom_with(&probe.wrap(backend), CheckoutStrategy::Gate);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "1.00", 10).await;
    backend.gate.seed(&product.id, 10).await.unwrap();
    for (name, change, stock, gate) in [
        ("gate.take", StockChange::Delta(-4), 6, 10),
        ("gate.add", StockChange::Delta(3), 9, 6),
    ] {
        probe.arm(Fault::at(Target::Named(name, 0), FaultMode::Error));
        let adjusted = ecom
            .inventory
            .adjust(&shop, &product.id, None, change, "The gate is down")
            .await
            .unwrap();
        assert_eq!(probe.disarm().map(|c| c.name), Some(name));
        assert_eq!(adjusted.inventory.stock, stock);
        assert_eq!(
            backend.gate.available(&product.id).await.unwrap(),
            Some(gate)
        );
        ecom.inventory.reconcile_gate().await.unwrap();
        assert_eq!(
            backend.gate.available(&product.id).await.unwrap(),
            Some(stock)
        );
    }
}
