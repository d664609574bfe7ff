//! The checks themselves can fail: each catches the corruption it is about.

use super::*;
use crate::discount::Redemption;
use crate::inventory::Reservation;

type Rule = fn(&Fixture, &Snapshot) -> Result<(), String>;

fn block_on<F: Future>(work: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(work)
}

/// A world at rest with one order placed and settled: a unit of the first product with
/// the first shop's code.
async fn with_an_order() -> (World, Order) {
    let world = World::new(5, &SimConfig::for_seed(5)).await.unwrap();
    let fx = &world.fx;
    let shop = fx.shops[0].clone();
    let request =
        CheckoutRequest::new([ShopOrder::new(shop, [(fx.products[0].id.clone(), 1)])
            .with_code(fx.codes[0].code.clone())]);
    let ecom = world.services(0).unwrap();
    let input = place(request, Some("the-key"));
    let order = ecom.checkout.place_order(&fx.customers[0], input);
    let order = order.await.unwrap();
    ecom.checkout.flush().await;
    ecom.events.relay_all(5).await.unwrap();
    assert_eq!(verdict(&world, check::at_rest).await, Ok(()));
    (world, order)
}

async fn verdict(world: &World, rule: Rule) -> Result<(), String> {
    let snap = Snapshot::take(&world.fx).await?;
    rule(&world.fx, &snap)
}

async fn assert_caught(world: &World, rule: Rule, expected: &str) {
    match verdict(world, rule).await {
        Err(e) => assert!(e.contains(expected), "caught, but as {e:?}"),
        Ok(()) => panic!("not caught: {expected}"),
    }
}

/// A return's hold of `order`'s first line, under a token of its own.
fn return_hold(order: &Order) -> Reservation {
    Reservation {
        id: "corrupting-token".into(),
        order_id: order.id.clone(),
        quantity: order.lines[0].quantity,
        created_at: order.created_at,
    }
}

/// Each invariant catches the corruption it is about, made straight in the store.
#[test]
fn the_checks_catch_a_corrupted_store() {
    block_on(async {
        let (world, order) = with_an_order().await;
        let (raw, product) = (&world.fx.raw, &order.lines[0].product_id);
        raw.inventory
            .add_stock(product, 1, None, order.created_at)
            .await
            .unwrap();
        assert_caught(&world, check::mid_flight, "!= received").await;

        // A placed line's units given back to stock, the line not returned.
        let (world, order) = with_an_order().await;
        let (raw, product) = (&world.fx.raw, &order.lines[0].product_id);
        let hold = return_hold(&order);
        raw.inventory.unsettle(product, &hold).await.unwrap();
        raw.inventory.release(product, &[hold]).await.unwrap();
        assert_caught(&world, check::mid_flight, "units of lines not returned").await;

        // A placed order's code use given back, the order keeping its code.
        let (world, order) = with_an_order().await;
        let use_ = Redemption {
            id: "corrupting-token".into(),
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            at: order.created_at,
        };
        let discounts = &world.fx.raw.discounts;
        let code = &order.discounts[0].discount_id;
        discounts.unsettle(code, &use_).await.unwrap();
        discounts.release(code, &use_).await.unwrap();
        assert_caught(&world, check::mid_flight, "uses counted").await;

        // An order whose status does not roll up from its lines.
        let (world, order) = with_an_order().await;
        let mut wrong = order.clone();
        wrong.status = OrderStatus::Delivered;
        wrong.version += 1;
        let orders = &world.fx.raw.orders;
        orders.replace(&wrong, order.version, &[]).await.unwrap();
        assert_caught(&world, check::mid_flight, "roll up").await;

        // A checkout's hold is fine in flight, not at rest.
        let (world, order) = with_an_order().await;
        let unplaced = OrderId::generate();
        let stray = Reservation {
            id: unplaced.to_string(),
            order_id: unplaced,
            ..return_hold(&order)
        };
        let raw = &world.fx.raw;
        raw.inventory
            .reserve(&order.lines[0].product_id, &[stray])
            .await
            .unwrap();
        assert_eq!(verdict(&world, check::mid_flight).await, Ok(()));
        assert_caught(&world, check::at_rest, "holds left open").await;
    });
}

/// An event of `kind` on the order `id`, with `order` as its state.
fn order_event(kind: crate::event::EventKind, id: &OrderId, order: &Order) -> crate::event::Event {
    let aggregate = crate::event::Aggregate {
        kind: crate::event::AggregateKind::Order,
        id: id.to_string(),
        version: order.version,
    };
    crate::event::Event::new(kind, order.created_at, aggregate, vec![], order)
}

/// The events check catches a change without its event, an event told twice, an event of an
/// order that does not exist, and events left waiting at rest.
#[test]
fn the_checks_catch_lost_and_invented_events() {
    use crate::event::EventKind;
    block_on(async {
        let (world, order) = with_an_order().await;
        let mut paid = order.clone();
        paid.payment.paid_at = Some(order.created_at);
        paid.version += 1;
        let orders = &world.fx.raw.orders;
        orders.replace(&paid, order.version, &[]).await.unwrap();
        assert_caught(&world, check::mid_flight, "paid once iff it was paid").await;

        let (world, order) = with_an_order().await;
        let mut noted = order.clone();
        noted.version += 1;
        let again = order_event(EventKind::OrderPlaced, &noted.id, &noted);
        let orders = &world.fx.raw.orders;
        orders
            .replace(&noted, order.version, &[again])
            .await
            .unwrap();
        assert_caught(&world, check::mid_flight, "placed once").await;
        assert_caught(&world, check::at_rest, "placed once").await;

        let (world, order) = with_an_order().await;
        let stray = order_event(EventKind::OrderPaid, &OrderId::generate(), &order);
        world.fx.raw.events.append(&[stray]).await.unwrap();
        assert_caught(&world, check::mid_flight, "does not exist").await;

        let (world, order) = with_an_order().await;
        let ecom = world.services(0).unwrap();
        let cancelled = ecom
            .orders
            .cancel(&order.customer_id, &order.id)
            .await
            .unwrap();
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert_eq!(verdict(&world, check::mid_flight).await, Ok(()));
        assert_caught(&world, check::at_rest, "still waiting at rest").await;
    });
}
