//! Fault cases that prove themselves: the writes of a clean run are recorded by a
//! [`Probe`], then each one is failed in turn (an error, a dropped future, or a lost reply), the
//! probe confirms the fault hit that very write, recovery runs (its report is checked), and the
//! whole state — orders, stock and reservations, gate counts, code uses, cart, checkout records —
//! must agree. Scenarios: a checkout, a checkout that rolls back, recovery itself, a cancel.
//! Writes that run in the background after a checkout (settling its holds) are faulted too: the
//! order is placed all the same, and recovery settles what they left open. The events agree
//! with the orders after every fault: none lost, none invented.

use super::checkout::{assert_stock_matches, ecom_with, place, request};
use super::probe::{Call, Fault, FaultMode, Probe, Target};
use super::{published_product, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::order::{Order, OrderStatus};
use crate::page::Page;
use crate::product::Product;
use crate::service::{CartItem, CheckoutStrategy, Ecom, PlaceOrder, RecoveryReport};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Units every fixture product starts with.
const STOCK: u64 = 5;

/// One customer buying two products with a code, from a cart that also holds a third.
struct Fixture {
    shop: ShopId,
    a: Product,
    b: Product,
    extra: Product,
    code: String,
    /// Units of `b` the order asks for.
    b_quantity: u32,
    customer: CustomerId,
    key: String,
}

impl Fixture {
    /// A fresh fixture; with `short`, the order asks for more of `b` than there is, so the
    /// checkout holds `a`, is refused at `b` and rolls back.
    async fn new(ecom: &Ecom, shop: &ShopId, short: bool) -> Self {
        let stock = u32::try_from(STOCK).unwrap();
        let a = published_product(ecom, shop, "4.00", stock).await;
        let b = published_product(ecom, shop, "6.00", stock).await;
        let extra = published_product(ecom, shop, "1.00", stock).await;
        let code = format!("F{}", &uuid::Uuid::new_v4().simple().to_string()[..12]).to_uppercase();
        super::checkout::create_code(ecom, shop, &code, 5, 5).await;
        let customer = CustomerId::generate();
        for (product, quantity) in [(&a, 2), (&b, 1), (&extra, 1)] {
            let item = CartItem {
                model_id: None,
                product_id: product.id.clone(),
                shop_id: shop.clone(),
                quantity,
            };
            ecom.carts.add(&customer, item).await.unwrap();
        }
        Fixture {
            shop: shop.clone(),
            a,
            b,
            extra,
            code,
            b_quantity: if short { stock + 1 } else { 1 },
            customer,
            key: format!("fixture-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn input(&self) -> PlaceOrder {
        let items = [(&self.a, 2), (&self.b, self.b_quantity)];
        place(
            request(&self.shop, &items, Some(&self.code)),
            Some(&self.key),
        )
    }

    /// Places the fixture's order through `ecom` on its own task (so a panic only kills it).
    async fn place_on_task(&self, ecom: &Ecom) -> Result<crate::Result<Order>, String> {
        let (ecom, customer, input) = (ecom.clone(), self.customer.clone(), self.input());
        tokio::spawn(async move { ecom.checkout.place_order(&customer, input).await })
            .await
            .map_err(|e| e.to_string())
    }

    async fn orders(&self, backend: &Backend) -> Vec<Order> {
        backend
            .orders
            .list_by_customer(&self.customer, Page::default())
            .await
            .unwrap()
    }

    /// Everything the fixture touched agrees with its orders: at most one order; stock and
    /// reservations match the live (not cancelled) orders; the gate, where it counts, matches
    /// the store; code uses match; the cart lost the bought lines iff an order was placed; the
    /// checkout record is final.
    async fn check(&self, backend: &Backend, what: &str) -> Vec<Order> {
        let orders = self.orders(backend).await;
        assert!(orders.len() <= 1, "{what}: never two orders for one key");
        let live: Vec<Order> = orders
            .iter()
            .filter(|o| o.status != OrderStatus::Cancelled)
            .cloned()
            .collect();
        let received = [(self.a.id.clone(), STOCK), (self.b.id.clone(), STOCK)];
        assert_stock_matches(backend, &received, &live, what).await;
        for product in [&self.a.id, &self.b.id] {
            let stock = backend
                .inventory
                .get(product)
                .await
                .unwrap()
                .map(|i| i.stock);
            if let Some(counted) = backend.gate.available(product).await.unwrap() {
                assert_eq!(Some(counted), stock, "{what}: the gate matches the store");
            }
        }
        let code = backend
            .discounts
            .find_active_by_code(&self.shop, &self.code)
            .await
            .unwrap()
            .unwrap();
        let live_with_code = live.iter().filter(|o| !o.discounts.is_empty()).count();
        assert_eq!(
            code.uses_count() as usize,
            live_with_code,
            "{what}: code uses match the orders"
        );
        let cart: BTreeMap<ProductId, u32> = backend
            .carts
            .get_active(&self.customer)
            .await
            .unwrap()
            .map(|c| {
                c.lines
                    .into_iter()
                    .map(|l| (l.product_id, l.quantity))
                    .collect()
            })
            .unwrap_or_default();
        let mut expected = BTreeMap::from([(self.extra.id.clone(), 1)]);
        if orders.is_empty() {
            expected.insert(self.a.id.clone(), 2);
            expected.insert(self.b.id.clone(), 1);
        }
        assert_eq!(
            cart, expected,
            "{what}: the cart lost exactly the bought lines"
        );
        let open: Vec<_> = code
            .open
            .iter()
            .filter(|u| !live.iter().any(|o| o.id.as_str() == u.id))
            .collect();
        assert!(
            open.is_empty(),
            "{what}: code uses open without a placed order: {open:?}"
        );
        super::events::assert_events_match_store(backend, &orders, what).await;
        orders
    }
}

/// Services with `strategy` whose stock locks expire quickly: a task that dies holding one
/// (a dropped future) holds it up only for a moment.
fn short_lived_locks(backend: &Backend, strategy: CheckoutStrategy) -> Ecom {
    let mut config = ecom_with(backend, strategy).config().clone();
    config.checkout.lock_ttl = std::time::Duration::from_millis(200);
    Ecom::new(backend.clone(), config)
}

/// The writes a probe saw since it was last cleared.
fn writes(probe: &Probe) -> Vec<Call> {
    probe.calls().into_iter().filter(|c| c.write).collect()
}

fn names(calls: &[Call]) -> Vec<&'static str> {
    calls.iter().map(|c| c.name).collect()
}

/// Runs recovery two hours later (past the lease of anything a faulted pass an hour later
/// left behind) and checks its report against what was left: holds of orders that were never
/// placed are given back (`rolled_back`), holds of placed orders are settled (`completed`),
/// return claims past their deadline are finished; a second pass finds nothing.
async fn recover(ecom: &Ecom, what: &str) -> RecoveryReport {
    let backend = ecom.backend();
    ecom.checkout.flush().await;
    let later = backend.clock.now() + chrono::Duration::hours(2);
    let cutoff = later - ecom.config().checkout.lease;
    let mut orders: Vec<crate::id::OrderId> = Vec::new();
    for (_, hold) in backend.inventory.list_stale(cutoff, 1000).await.unwrap() {
        if hold.id == hold.order_id.as_str() {
            orders.push(hold.order_id);
        }
    }
    for (_, use_) in backend.discounts.list_stale(cutoff, 1000).await.unwrap() {
        if use_.id == use_.order_id.as_str() {
            orders.push(use_.order_id);
        }
    }
    if ecom.config().checkout.strategy == crate::service::CheckoutStrategy::Gate {
        for (checkout, _) in backend.gate.list_stale(cutoff, 1000).await.unwrap() {
            let id = crate::id::OrderId::parse(&checkout).unwrap();
            if backend.orders.get(&id).await.unwrap().is_none() {
                orders.push(id);
            }
        }
    }
    orders.sort();
    orders.dedup();
    let mut expected = RecoveryReport::default();
    for id in &orders {
        match backend.orders.get(id).await.unwrap() {
            Some(_) => expected.completed += 1,
            None => expected.rolled_back += 1,
        }
    }
    expected.returns_finished = u32::try_from(
        backend
            .orders
            .list_returning(later, 1000)
            .await
            .unwrap()
            .len(),
    )
    .unwrap();
    let report = ecom.checkout.recover_stale_checkouts(later).await.unwrap();
    assert_eq!(report, expected, "{what}: the recovery report");
    let again = ecom.checkout.recover_stale_checkouts(later).await.unwrap();
    assert_eq!(
        again,
        RecoveryReport::default(),
        "{what}: recovery is idempotent"
    );
    report
}

/// After a failed gate write that the store's side did not wait for: the store has the units,
/// the gate may count low (never high); it is rebuilt from the store.
async fn gate_missed_units(ecom: &Ecom, fx: &Fixture, what: &str) {
    let backend = ecom.backend();
    for product in [&fx.a, &fx.b] {
        let store = backend.inventory.get(&product.id).await.unwrap().unwrap();
        if let Some(counted) = backend.gate.available(&product.id).await.unwrap() {
            assert!(counted <= store.stock, "{what}: the gate never counts high");
            ecom.inventory
                .rebuild_gate(&fx.shop, &product.id)
                .await
                .unwrap();
        }
    }
}

/// Writes a checkout makes after its commit point, in the background.
fn in_background(step: &Call) -> bool {
    matches!(
        step.name,
        "inventory.settle"
            | "inventory.settle_many"
            | "discounts.settle"
            | "gate.commit"
            | "products.record_stock"
    )
}

/// The probe and a service view through it.
fn probed(ecom: &Ecom) -> (Probe, Ecom) {
    let probe = Probe::new();
    let view = Ecom::new(probe.wrap(ecom.backend()), ecom.config().clone());
    (probe, view)
}

fn assert_fired(probe: &Probe, step: &Call, what: &str) {
    assert_eq!(
        probe.disarm().as_ref(),
        Some(step),
        "{what}: the fault hit the intended write"
    );
}

fn assert_outcome(
    mode: FaultMode,
    step: &Call,
    outcome: &Result<crate::Result<Order>, String>,
    what: &str,
) {
    if in_background(step) {
        assert!(
            matches!(outcome, Ok(Ok(_))),
            "{what}: the order is placed: {outcome:?}"
        );
        return;
    }
    match (mode, outcome) {
        (FaultMode::Panic, Err(died)) => assert!(died.contains("panic"), "{what}: {died}"),
        (FaultMode::Panic, Ok(r)) => panic!("{what}: the task should have died, got {r:?}"),
        (_, Err(died)) => panic!("{what}: the task died: {died}"),
        (_, Ok(_)) => {}
    }
}

/// A clean checkout's writes, each failed in turn; after recovery and a retry with the same
/// key there is exactly one order and everything matches it.
async fn checkout_faults(backend: &Backend, strategy: CheckoutStrategy, mode: FaultMode) {
    let ecom = short_lived_locks(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let clean = Fixture::new(&ecom, &shop, false).await;
    probe.clear();
    clean.place_on_task(&view).await.unwrap().unwrap();
    view.checkout.flush().await;
    let steps = writes(&probe);
    clean.check(backend, "clean checkout").await;
    for needed in [
        "inventory.reserve",
        "discounts.redeem",
        "orders.insert",
        "carts.remove_lines",
        "inventory.settle_many",
        "discounts.settle",
    ] {
        assert!(
            steps.iter().any(|c| c.name == needed),
            "a checkout writes {needed}: {:?}",
            names(&steps)
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let what = format!("{strategy:?}/{mode:?}, checkout write {i} ({})", step.name);
        let fx = Fixture::new(&ecom, &shop, false).await;
        probe.arm(Fault::at(Target::Write(i), mode));
        let outcome = fx.place_on_task(&view).await;
        view.checkout.flush().await;
        assert_fired(&probe, step, &what);
        assert_outcome(mode, step, &outcome, &what);
        recover(&ecom, &what).await;
        let before = fx.check(backend, &what).await;
        if let Ok(Ok(order)) = &outcome {
            assert_eq!(before.first().map(|o| &o.id), Some(&order.id), "{what}");
        }
        let order = ecom
            .checkout
            .place_order(&fx.customer, fx.input())
            .await
            .unwrap_or_else(|e| panic!("{what}: the retry failed: {e:?}"));
        ecom.checkout.flush().await;
        let after = fx.check(backend, &format!("{what}, retried")).await;
        assert_eq!(
            after.iter().map(|o| &o.id).collect::<Vec<_>>(),
            [&order.id],
            "{what}: exactly one order after the retry"
        );
    }
}

/// A checkout refused for lack of stock of its second line, after holding the first; each write
/// of that path (the rollback's too) failed in turn. Nothing may stay held, and no order appears.
async fn rollback_faults(backend: &Backend, strategy: CheckoutStrategy, mode: FaultMode) {
    let ecom = short_lived_locks(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let clean = Fixture::new(&ecom, &shop, true).await;
    probe.clear();
    let refused = clean.place_on_task(&view).await.unwrap();
    view.checkout.flush().await;
    assert!(
        matches!(refused, Err(Error::InsufficientStock { .. })),
        "{refused:?}"
    );
    let steps = writes(&probe);
    clean.check(backend, "clean rollback").await;
    for needed in ["inventory.release", "discounts.release"] {
        assert!(
            steps.iter().any(|c| c.name == needed),
            "a rollback writes {needed}: {:?}",
            names(&steps)
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let what = format!("{strategy:?}/{mode:?}, rollback write {i} ({})", step.name);
        let fx = Fixture::new(&ecom, &shop, true).await;
        probe.arm(Fault::at(Target::Write(i), mode));
        let outcome = fx.place_on_task(&view).await;
        view.checkout.flush().await;
        assert_fired(&probe, step, &what);
        if step.name == "products.record_stock" {
            // The refresh of the products' stock state after the units came back is best
            // effort: the refusal stands (a panic still takes the task down).
            assert!(
                matches!(
                    (mode, &outcome),
                    (FaultMode::Panic, Err(_)) | (_, Ok(Err(Error::InsufficientStock { .. })))
                ),
                "{what}: {outcome:?}"
            );
        } else {
            assert_outcome(mode, step, &outcome, &what);
        }
        recover(&ecom, &what).await;
        assert!(
            fx.check(backend, &what).await.is_empty(),
            "{what}: no order"
        );
        let retried = ecom.checkout.place_order(&fx.customer, fx.input()).await;
        ecom.checkout.flush().await;
        assert!(
            matches!(retried, Err(Error::InsufficientStock { .. })),
            "{what}: the retry is refused the same way: {retried:?}"
        );
        assert!(
            fx.check(backend, &what).await.is_empty(),
            "{what}: no order"
        );
    }
}

/// Recovery itself failing: a checkout is abandoned (its task dies at `abandon_at`), then
/// each write of a clean recovery of such a checkout is failed in turn; a later clean pass
/// must finish the job.
async fn recovery_faults(
    backend: &Backend,
    strategy: CheckoutStrategy,
    mode: FaultMode,
    abandon_at: &'static str,
) {
    let ecom = short_lived_locks(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let later = || backend.clock.now() + chrono::Duration::hours(1);
    let abandon = |fx: Fixture| {
        let (probe, view) = (probe.clone(), view.clone());
        async move {
            probe.arm(Fault::at(Target::Named(abandon_at, 0), FaultMode::Panic));
            let outcome = fx.place_on_task(&view).await;
            assert!(outcome.is_err(), "the checkout died at {abandon_at}");
            assert!(probe.disarm().is_some());
            view.checkout.flush().await;
            fx
        }
    };
    let clean = abandon(Fixture::new(&ecom, &shop, false).await).await;
    probe.clear();
    let report = view
        .checkout
        .recover_stale_checkouts(later())
        .await
        .unwrap();
    assert_eq!(report.rolled_back + report.completed, 1, "{report:?}");
    let steps = writes(&probe);
    assert!(
        !steps.is_empty(),
        "recovery of a checkout abandoned at {abandon_at} writes"
    );
    clean
        .check(
            backend,
            &format!("clean recovery, writes {:?}", names(&steps)),
        )
        .await;
    for (i, step) in steps.iter().enumerate() {
        let what = format!(
            "{strategy:?}/{mode:?}, abandoned at {abandon_at}, recovery write {i} ({})",
            step.name
        );
        let fx = abandon(Fixture::new(&ecom, &shop, false).await).await;
        probe.arm(Fault::at(Target::Write(i), mode));
        let at = later();
        let run = {
            let view = view.clone();
            tokio::spawn(async move { view.checkout.recover_stale_checkouts(at).await })
        };
        let outcome = run.await;
        assert_fired(&probe, step, &what);
        match mode {
            FaultMode::Panic => assert!(outcome.is_err(), "{what}: recovery should have died"),
            // The refresh of the products' units sold (the best-selling order's copy) is best
            // effort: its failure is logged, the next refresh repairs it.
            _ if step.name == "products.record_stock" => {
                assert!(
                    matches!(outcome, Ok(Ok(_))),
                    "{what}: a failed refresh of units sold fails nothing: {outcome:?}"
                );
            }
            // Recovery gives the store's units back whatever the gate says, and may report the
            // gate's failure or only log it.
            _ if step.name.starts_with("gate.") => {
                assert!(
                    matches!(outcome, Ok(Ok(_)) | Ok(Err(Error::Unavailable(_)))),
                    "{what}: {outcome:?}"
                );
                gate_missed_units(&ecom, &fx, &what).await;
            }
            _ => assert!(
                matches!(outcome, Ok(Err(Error::Unavailable(_)))),
                "{what}: recovery reports the failure: {outcome:?}"
            ),
        }
        recover(&ecom, &what).await;
        fx.check(backend, &what).await;
        ecom.checkout
            .place_order(&fx.customer, fx.input())
            .await
            .unwrap_or_else(|e| panic!("{what}: the retry failed: {e:?}"));
        ecom.checkout.flush().await;
        assert_eq!(fx.check(backend, &what).await.len(), 1, "{what}: one order");
    }
}

/// A cancel whose writes fail in turn: recovery (or a repeated cancel) finishes it, and stock
/// and the code use come back exactly once.
async fn cancel_faults(backend: &Backend, strategy: CheckoutStrategy, mode: FaultMode) {
    let ecom = short_lived_locks(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let placed = |fx: Fixture| {
        let ecom = ecom.clone();
        async move {
            let order = ecom
                .checkout
                .place_order(&fx.customer, fx.input())
                .await
                .unwrap();
            ecom.checkout.flush().await;
            (fx, order)
        }
    };
    let (clean, order) = placed(Fixture::new(&ecom, &shop, false).await).await;
    probe.clear();
    view.orders
        .cancel(&clean.customer, &order.id)
        .await
        .unwrap();
    let steps = writes(&probe);
    assert_eq!(
        clean.check(backend, "clean cancel").await[0].status,
        OrderStatus::Cancelled
    );
    for needed in [
        "orders.replace",
        "inventory.unsettle",
        "inventory.release",
        "discounts.unsettle",
        "discounts.release",
    ] {
        assert!(
            steps.iter().any(|c| c.name == needed),
            "a cancel writes {needed}: {:?}",
            names(&steps)
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let what = format!("{strategy:?}/{mode:?}, cancel write {i} ({})", step.name);
        let (fx, order) = placed(Fixture::new(&ecom, &shop, false).await).await;
        probe.arm(Fault::at(Target::Write(i), mode));
        let outcome = {
            let (view, customer, id) = (view.clone(), fx.customer.clone(), order.id.clone());
            tokio::spawn(async move { view.orders.cancel(&customer, &id).await }).await
        };
        assert_fired(&probe, step, &what);
        match mode {
            FaultMode::Panic => assert!(outcome.is_err(), "{what}: the cancel should have died"),
            // The store has the units back; a failing gate, or a failing refresh of the units
            // sold the best-selling order reads, is not worth failing the cancel for.
            _ if step.name.starts_with("gate.") || step.name == "products.record_stock" => {
                assert!(matches!(outcome, Ok(Ok(_))), "{what}: {outcome:?}");
            }
            _ => assert!(
                matches!(outcome, Ok(Err(Error::Unavailable(_)))),
                "{what}: the cancel reports the failure: {outcome:?}"
            ),
        }
        // The gate hears of returned units after the store has them; a return cut off in
        // between leaves it counting low (never high) until it is rebuilt.
        if step.name.starts_with("gate.") || step.name == "inventory.release" {
            gate_missed_units(&ecom, &fx, &what).await;
        }
        recover(&ecom, &what).await;
        let now = fx.check(backend, &what).await;
        if now[0].status != OrderStatus::Cancelled {
            ecom.orders
                .cancel(&fx.customer, &order.id)
                .await
                .unwrap_or_else(|e| panic!("{what}: cancelling again failed: {e:?}"));
        }
        let after = fx.check(backend, &format!("{what}, finished")).await;
        assert_eq!(after[0].status, OrderStatus::Cancelled, "{what}");
        assert!(
            after[0].lines.iter().all(|l| l.returned.is_some()),
            "{what}"
        );
        assert!(
            after[0].discounts.iter().all(|d| d.returned.is_some()),
            "{what}"
        );
        assert!(after[0].returning.is_none(), "{what}");
    }
}

async fn every_fault(backend: &Backend, strategy: CheckoutStrategy) {
    for mode in [FaultMode::Error, FaultMode::Panic, FaultMode::ErrorAfter] {
        checkout_faults(backend, strategy, mode).await;
        rollback_faults(backend, strategy, mode).await;
        recovery_faults(backend, strategy, mode, "discounts.redeem").await;
        recovery_faults(backend, strategy, mode, "carts.remove_lines").await;
        cancel_faults(backend, strategy, mode).await;
    }
}

/// Every write of a checkout, of a rollback, of recovery and of a cancel, failed in turn
/// (error and dropped future), conditional writes only.
/// A stale checkout whose recovery fails neither stops the pass nor is tried again at once: the
/// other checkout is recovered in the same pass, the failure is counted, the failing order waits
/// out its backoff (nothing is tried for it), then is recovered.
pub async fn recovery_backs_off_a_failing_order(backend: &Backend) {
    let ecom = short_lived_locks(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let mut fixtures = Vec::new();
    for _ in 0..2 {
        let fx = Fixture::new(&ecom, &shop, false).await;
        probe.arm(Fault::at(
            Target::Named("orders.insert", 0),
            FaultMode::Panic,
        ));
        assert!(fx.place_on_task(&view).await.is_err(), "the checkout died");
        assert!(probe.disarm().is_some());
        fixtures.push(fx);
    }
    view.checkout.flush().await;
    let held = |fx: &Fixture| {
        let id = fx.a.id.clone();
        async move {
            backend
                .inventory
                .get(&id)
                .await
                .unwrap()
                .map_or(0, |i| i.reserved())
        }
    };
    let later = backend.clock.now() + chrono::Duration::hours(1);
    probe.arm(Fault::at(Target::Named("orders.void", 0), FaultMode::Error));
    let first = view.checkout.recover_stale_checkouts(later).await;
    assert_eq!(probe.disarm().map(|c| c.name), Some("orders.void"));
    assert!(matches!(first, Err(Error::Unavailable(_))), "{first:?}");
    assert_eq!(view.checkout.recovery_failures(), 1);
    let mut failing = Vec::new();
    for fx in &fixtures {
        if held(fx).await > 0 {
            failing.push(fx);
        }
    }
    assert_eq!(
        failing.len(),
        1,
        "the other checkout was recovered in the same pass"
    );
    // The same instant: the failing order is backed off; nothing is tried for it.
    probe.clear();
    let second = view.checkout.recover_stale_checkouts(later).await.unwrap();
    assert_eq!(second, RecoveryReport::default());
    assert!(
        !probe.calls().iter().any(|c| c.write),
        "a backed-off order is left alone: {:?}",
        probe.calls()
    );
    assert!(held(failing[0]).await > 0);
    // Past its backoff it is recovered, and everything agrees with the (no) orders.
    let third = view
        .checkout
        .recover_stale_checkouts(later + chrono::Duration::seconds(3))
        .await
        .unwrap();
    assert_eq!(third.rolled_back, 1, "{third:?}");
    for fx in &fixtures {
        assert!(fx.check(backend, "after the backoff").await.is_empty());
    }
    assert_eq!(view.checkout.recovery_failures(), 1);
}

/// A checkout that stalls past its lease just before its commit point (its holds taken, the
/// order not yet inserted) is given up by recovery; the client's retry with the same key
/// places the order; then the slow run wakes up and tries to commit. It must not: its id was
/// voided, so it gives back what it holds (already given back: nothing moves twice), and in
/// the end there is one order, and stock, code uses and cart agree with it.
pub async fn a_slow_run_cannot_commit_after_recovery(backend: &Backend) {
    for &(_, strategy) in CheckoutStrategy::ALL {
        for retry in [true, false] {
            slow_run(backend, strategy, retry).await;
        }
    }
}

/// One slow run given up by recovery, with or without the client's retry before it wakes.
async fn slow_run(backend: &Backend, strategy: CheckoutStrategy, retry: bool) {
    let ecom = short_lived_locks(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let fx = Fixture::new(&ecom, &shop, false).await;
    let (reached, resume) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    probe.pause_at("orders.insert", reached.clone(), resume.clone());
    let slow = {
        let (view, customer, input) = (view.clone(), fx.customer.clone(), fx.input());
        tokio::spawn(async move { view.checkout.place_order(&customer, input).await })
    };
    reached.notified().await;
    let what = format!("{strategy:?}: slow run, retry {retry}");
    let later = backend.clock.now() + chrono::Duration::hours(1);
    let report = ecom.checkout.recover_stale_checkouts(later).await.unwrap();
    assert_eq!(
        report.rolled_back, 1,
        "{what}: recovery gave the slow run up"
    );
    let retried = if retry {
        Some(
            ecom.checkout
                .place_order(&fx.customer, fx.input())
                .await
                .unwrap_or_else(|e| panic!("{what}: the retry failed: {e:?}")),
        )
    } else {
        None
    };
    resume.notify_one();
    let late = slow.await.unwrap();
    match (&late, &retried) {
        (Ok(order), Some(retried)) => {
            assert_eq!(
                order.id, retried.id,
                "{what}: the slow run placed a second order"
            );
        }
        (Ok(order), None) => panic!("{what}: the slow run committed after recovery: {order:?}"),
        (Err(_), _) => {}
    }
    ecom.checkout.flush().await;
    view.checkout.flush().await;
    let orders = fx.check(backend, &what).await;
    assert_eq!(orders.len(), usize::from(retry), "{what}: orders");
    if let Some(retried) = retried {
        assert_eq!(orders[0].id, retried.id);
    }
}

/// A return claimant that reopens its hold after recovery took its claim over, then dies,
/// leaves that hold open with the line's units out of `sold`; taking the new claim over then
/// finds `sold` short. Recovery must settle such a stale hold back before it takes claims over,
/// or every pass fails on the claim and backs the order off before reaching the hold, and the
/// return never finishes.
pub async fn a_dead_superseded_claimant_does_not_block_recovery(backend: &Backend) {
    for &(_, strategy) in CheckoutStrategy::ALL {
        superseded_claimant(backend, strategy).await;
    }
}

async fn superseded_claimant(backend: &Backend, strategy: CheckoutStrategy) {
    let what = format!("{strategy:?}: a dead superseded claimant");
    // Claims are taken over by the backend's clock: move it.
    let clock = Arc::new(crate::clock::ManualClock::new(backend.clock.now()));
    let backend = &backend.clone().with_clock(clock.clone());
    let ecom = short_lived_locks(backend, strategy);
    let (shop, _) = shop(&ecom).await;
    let (probe, view) = probed(&ecom);
    let fx = Fixture::new(&ecom, &shop, false).await;
    let order = ecom
        .checkout
        .place_order(&fx.customer, fx.input())
        .await
        .unwrap();
    ecom.checkout.flush().await;
    let notify = || Arc::new(tokio::sync::Notify::new());
    // The customer's cancel claims the return and stops before reopening its first line.
    let (cancel_reached, cancel_resume) = (notify(), notify());
    probe.pause_at(
        "inventory.unsettle",
        cancel_reached.clone(),
        cancel_resume.clone(),
    );
    let cancel = {
        let (view, customer, id) = (view.clone(), fx.customer.clone(), order.id.clone());
        tokio::spawn(async move { view.orders.cancel(&customer, &id).await })
    };
    cancel_reached.notified().await;
    // Past the claim's deadline, recovery takes it over and stops before reopening that line.
    let (taken_reached, taken_resume) = (notify(), notify());
    probe.pause_at(
        "inventory.unsettle",
        taken_reached.clone(),
        taken_resume.clone(),
    );
    clock.advance(chrono::Duration::hours(1));
    let takeover = {
        let (view, now) = (view.clone(), backend.clock.now());
        tokio::spawn(async move { view.checkout.recover_stale_checkouts(now).await })
    };
    taken_reached.notified().await;
    // The superseded cancel reopens its holds, then dies at its commit point.
    probe.arm(Fault::at(
        Target::Named("orders.replace", 0),
        FaultMode::Panic,
    ));
    cancel_resume.notify_one();
    assert!(cancel.await.is_err(), "{what}: the cancel died");
    assert_eq!(probe.disarm().map(|c| c.name), Some("orders.replace"));
    taken_resume.notify_one();
    let first = takeover.await.unwrap();
    assert!(
        matches!(first, Err(Error::Conflict { .. })),
        "{what}: the takeover finds the units reopened by the dead claimant: {first:?}"
    );
    // Once the takeover's claim is due too, one pass finishes the return.
    clock.advance(chrono::Duration::hours(1));
    let due = backend.clock.now();
    let report = ecom
        .checkout
        .recover_stale_checkouts(due)
        .await
        .unwrap_or_else(|e| panic!("{what}: recovery failed: {e:?}"));
    assert_eq!(report.returns_finished, 1, "{what}: {report:?}");
    let orders = fx.check(backend, &what).await;
    assert_eq!(orders[0].status, OrderStatus::Cancelled, "{what}");
    assert!(orders[0].returning.is_none(), "{what}: the return finished");
    assert!(
        orders[0].lines.iter().all(|l| l.returned.is_some()),
        "{what}"
    );
    let again = ecom.checkout.recover_stale_checkouts(due).await.unwrap();
    assert_eq!(again, RecoveryReport::default(), "{what}: nothing left");
}

pub async fn faults_atomic(backend: &Backend) {
    every_fault(backend, CheckoutStrategy::Atomic).await;
}

/// The same under the stock lock (its acquire and release are writes too).
pub async fn faults_lock_then_reserve(backend: &Backend) {
    every_fault(backend, CheckoutStrategy::LockThenReserve).await;
}

/// The same through the stock gate (admissions, seeds and releases are writes too).
pub async fn faults_gate(backend: &Backend) {
    every_fault(backend, CheckoutStrategy::Gate).await;
}
