//! Cases for returns after delivery: the state table through the service (every allowed move,
//! forbidden ones refused with nothing changed), the window, quantities across requests,
//! refunds that add up to what was paid, racing moves and sweeps with one winner, restock.

use super::checkout::{create_code, place, request};
use super::payments::{clock, genuine, paying_config, WEBHOOK_SECRET};
use super::{assert_race, customer, interleaved, published_product, rush, shop};
use crate::backend::Backend;
use crate::clock::ManualClock;
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::order::{Order, OrderStatus};
use crate::payment::PaymentStatus;
use crate::payment::{SignedWebhook, SIGNATURE_HEADER};
use crate::product::Product;
use crate::returns::ledger::{refunded, refunds_committed};
use crate::returns::{Condition, RefundStatus, ReturnMode, ReturnReason, ReturnStatus};
use crate::secret::Secret;
use crate::service::{
    CheckoutRequest, DisputeOutcome, Ecom, LineStatusChange, NewReturn, ReceivedLine, ReturnItem,
    ReturnOf, ShopOrder, StatusUpdate,
};
use chrono::Duration;
use std::sync::Arc;

/// The shipping fee of the suite's orders here, in minor units.
const FEE: i64 = 500;

fn ecom_returning(backend: &Backend, clock: &Arc<ManualClock>) -> Ecom {
    let mut config = paying_config();
    config.checkout.fee_ship_minor = FEE;
    Ecom::new(backend.clone().with_clock(clock.clone()), config)
}

/// Places `request` for `buyer` (cash on delivery) and has every shop deliver it: paid.
async fn delivered(ecom: &Ecom, buyer: &CustomerId, request: CheckoutRequest) -> Order {
    delivered_paying(ecom, buyer, request, "cod").await
}

/// A signed callback of the suite's `online` provider about the refund `reference` of `order`.
pub fn refund_callback(
    ecom: &Ecom,
    id: &str,
    kind: &str,
    order: &Order,
    reference: &str,
    amount: &str,
) -> crate::payment::Callback {
    let body = serde_json::json!({
        "id": id, "type": kind, "order_id": order.id.to_string(), "amount": amount,
        "currency": "USD", "reference": reference,
    })
    .to_string()
    .into_bytes();
    let at = ecom.backend().clock.now().timestamp();
    crate::payment::Callback {
        headers: vec![(
            SIGNATURE_HEADER.to_owned(),
            SignedWebhook::sign(&Secret::new(WEBHOOK_SECRET), at, &body),
        )],
        body,
    }
}

/// [`delivered`], paid by `method` (`online`: paid by the provider's callback first).
async fn delivered_paying(
    ecom: &Ecom,
    buyer: &CustomerId,
    request: CheckoutRequest,
    method: &str,
) -> Order {
    let order = ecom
        .checkout
        .place_order(buyer, place(request, None).with_payment(method))
        .await
        .expect("order placed");
    // Its units reach `sold` in the background; a return takes them back from there.
    ecom.checkout.flush().await;
    if method == "online" {
        ecom.payments
            .callback(
                "online",
                &genuine(
                    ecom,
                    &format!("pay-{}", order.id),
                    "payment.succeeded",
                    &order,
                ),
            )
            .await
            .expect("paid");
    }
    let mut shops: Vec<ShopId> = order.lines.iter().map(|l| l.shop_id.clone()).collect();
    shops.dedup();
    let mut last = order.clone();
    for shop in shops {
        let products: Vec<ProductId> = order
            .lines_of(&shop)
            .map(|l| l.product_id.clone())
            .collect();
        for status in [
            OrderStatus::Confirmed,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
        ] {
            last = ecom
                .orders
                .update_status(
                    &shop,
                    &order.id,
                    StatusUpdate {
                        lines: vec![LineStatusChange {
                            product_ids: products.clone(),
                            status,
                        }],
                        ..Default::default()
                    },
                )
                .await
                .expect("line moved");
        }
    }
    assert_eq!(last.payment.status, PaymentStatus::Paid);
    last
}

fn asking(product: &ProductId, quantity: u32) -> NewReturn {
    NewReturn {
        lines: vec![ReturnItem {
            product_id: product.clone(),
            model_id: None,
            quantity,
        }],
        reason: ReturnReason::Damaged,
        note: Some("the seam came apart".into()),
        evidence: vec!["https://img.example/seam.jpg".into()],
        request_key: None,
    }
}

fn receipt(product: &ProductId, quantity: u32, condition: Condition) -> ReceivedLine {
    ReceivedLine {
        product_id: product.clone(),
        model_id: None,
        quantity,
        condition,
    }
}

async fn stored(ecom: &Ecom, order: &Order) -> Order {
    ecom.backend().orders.get(&order.id).await.unwrap().unwrap()
}

/// Refused with a conflict, and the order is exactly as before.
async fn refused<T: std::fmt::Debug>(
    ecom: &Ecom,
    order: &Order,
    result: crate::Result<T>,
    what: &str,
) {
    let before = stored(ecom, order).await;
    match result {
        Err(Error::Conflict { .. } | Error::Validation { .. }) => {}
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
    assert_eq!(
        stored(ecom, order).await,
        before,
        "{what}: changed the order"
    );
}

struct Shop1 {
    clock: Arc<ManualClock>,
    ecom: Ecom,
    shop: ShopId,
    product: Product,
    buyer: CustomerId,
}

async fn setup(backend: &Backend) -> Shop1 {
    let clock = clock();
    let ecom = ecom_returning(backend, &clock);
    let (shop, _) = shop(&ecom).await;
    let product = published_product(&ecom, &shop, "10.00", 100).await;
    let (buyer, _) = customer(&ecom).await;
    Shop1 {
        clock,
        ecom,
        shop,
        product,
        buyer,
    }
}

/// Every allowed move of the table once through the service, each forbidden one tried refused
/// with nothing changed; quantities never beyond what was delivered across requests; restock of
/// resellable units only; the window.
pub async fn returns_follow_the_table(backend: &Backend) {
    let s = setup(backend).await;
    let order = delivered(
        &s.ecom,
        &s.buyer,
        request(&s.shop, &[(&s.product, 5)], None),
    )
    .await;
    let first = received_and_refunded(&s, &order).await;
    let second = rejected_and_closed(&s, &order).await;
    let fourth = cancelled_then_refunded_by_the_operator(&s, &order).await;
    others_and_the_window(&s, &order, &first, &second, &fourth).await;
}

/// Requested -> accepted -> received (1 resellable, 1 damaged) -> refunded, with the moves
/// the table forbids on the way refused; the return.
async fn received_and_refunded(s: &Shop1, order: &Order) -> ReturnOf {
    let (ecom, p) = (&s.ecom, &s.product.id);
    let before = ecom.inventory.get(&s.shop, p).await.unwrap().total;
    let first = ecom
        .returns
        .request(&s.buyer, &order.id, asking(p, 2))
        .await
        .unwrap();
    assert_eq!(first.ret.status, ReturnStatus::Requested);
    refused(
        ecom,
        order,
        ecom.returns
            .receive(
                &s.shop,
                &first.ret.id,
                &[receipt(p, 1, Condition::Resellable)],
            )
            .await,
        "receive before accept",
    )
    .await;
    refused(
        ecom,
        order,
        ecom.returns.dispute(&s.buyer, &first.ret.id).await,
        "dispute before reject",
    )
    .await;
    refused(
        ecom,
        order,
        ecom.returns
            .request(&s.buyer, &order.id, asking(p, 4))
            .await,
        "more than delivered",
    )
    .await;
    let accepted = ecom
        .returns
        .accept(&s.shop, &first.ret.id, ReturnMode::ReturnAndRefund)
        .await
        .unwrap();
    assert_eq!(accepted.ret.status, ReturnStatus::Accepted);
    refused(
        ecom,
        order,
        ecom.returns
            .accept(&s.shop, &first.ret.id, ReturnMode::RefundOnly)
            .await,
        "accept twice",
    )
    .await;
    refused(
        ecom,
        order,
        ecom.returns.reject(&s.shop, &first.ret.id, "no").await,
        "reject after accept",
    )
    .await;
    refused(
        ecom,
        order,
        ecom.returns
            .receive(
                &s.shop,
                &first.ret.id,
                &[receipt(p, 3, Condition::Resellable)],
            )
            .await,
        "receive more than asked",
    )
    .await;
    let received = ecom
        .returns
        .receive(
            &s.shop,
            &first.ret.id,
            &[
                receipt(p, 1, Condition::Resellable),
                receipt(p, 1, Condition::Damaged),
            ],
        )
        .await
        .unwrap();
    assert_eq!(received.ret.status, ReturnStatus::Refunding);
    let refund = received.ret.refund.clone().unwrap();
    assert_eq!(
        (refund.amount.minor, refund.status),
        (2000, RefundStatus::Due)
    );
    assert!(
        !received.ret.restock_due(),
        "the restock was applied at once"
    );
    let after = ecom.inventory.get(&s.shop, p).await.unwrap().total;
    assert_eq!(
        after.stock,
        before.stock + 1,
        "only the resellable unit is back in stock"
    );
    assert_eq!(after.sold, before.sold - 2, "both units are out of sold");
    assert_eq!(
        after.damaged,
        before.damaged + 1,
        "the damaged unit is set aside"
    );
    assert_eq!(
        after.received(),
        before.received(),
        "nothing appeared or vanished"
    );
    let history = ecom
        .inventory
        .adjustments(&s.shop, p, None, crate::page::Page::default())
        .await
        .unwrap();
    assert_eq!(
        (history[0].delta, history[0].reason.clone()),
        (1, format!("return {}", first.ret.id))
    );
    refused(
        ecom,
        order,
        ecom.returns.cancel(&s.buyer, &first.ret.id).await,
        "cancel after receipt",
    )
    .await;
    let paid_back = ecom
        .returns
        .confirm_refund(&s.shop, &first.ret.id)
        .await
        .unwrap();
    assert_eq!(paid_back.ret.status, ReturnStatus::Refunded);
    assert_eq!(refunded(&paid_back.order).unwrap().minor, 2000);
    refused(
        ecom,
        order,
        ecom.returns.confirm_refund(&s.shop, &first.ret.id).await,
        "refunded twice",
    )
    .await;

    first
}

/// Requested -> rejected -> disputed -> closed by the operator; a second dispute refused.
async fn rejected_and_closed(s: &Shop1, order: &Order) -> ReturnOf {
    let (ecom, p) = (&s.ecom, &s.product.id);
    let second = ecom
        .returns
        .request(&s.buyer, &order.id, asking(p, 3))
        .await
        .unwrap();
    refused(
        ecom,
        order,
        ecom.returns
            .request(&s.buyer, &order.id, asking(p, 1))
            .await,
        "nothing left to ask",
    )
    .await;
    // A move retried under its key answers the return as it stands; under another key, or
    // none, the repeat is refused.
    let key = crate::idempotency::IdempotencyKey::parse("reject-1").unwrap();
    let rejected = ecom.returns.keyed(key.clone());
    let once = rejected
        .reject(&s.shop, &second.ret.id, "worn")
        .await
        .unwrap();
    let again = rejected
        .reject(&s.shop, &second.ret.id, "worn")
        .await
        .unwrap();
    assert_eq!(
        (once.ret.status, &once.order),
        (ReturnStatus::Rejected, &again.order)
    );
    let other = crate::idempotency::IdempotencyKey::parse("reject-2").unwrap();
    refused(
        ecom,
        order,
        ecom.returns
            .keyed(other)
            .reject(&s.shop, &second.ret.id, "worn")
            .await,
        "reject again under another key",
    )
    .await;
    refused(
        ecom,
        order,
        ecom.returns.cancel(&s.buyer, &second.ret.id).await,
        "cancel after reject",
    )
    .await;
    ecom.returns
        .dispute(&s.buyer, &second.ret.id)
        .await
        .unwrap();
    let closed = ecom
        .returns
        .resolve(&second.ret.id, DisputeOutcome::Reject, None)
        .await
        .unwrap();
    assert_eq!(closed.ret.status, ReturnStatus::Closed);
    refused(
        ecom,
        order,
        ecom.returns.dispute(&s.buyer, &second.ret.id).await,
        "dispute twice",
    )
    .await;

    second
}

/// Units of a closed return can be asked again: requested -> accepted -> cancelled; then
/// rejected -> disputed -> refunded by the operator, the last units with the fee.
async fn cancelled_then_refunded_by_the_operator(s: &Shop1, order: &Order) -> ReturnOf {
    let (ecom, p) = (&s.ecom, &s.product.id);
    let third = ecom
        .returns
        .request(&s.buyer, &order.id, asking(p, 3))
        .await
        .unwrap();
    ecom.returns
        .accept(&s.shop, &third.ret.id, ReturnMode::ReturnAndRefund)
        .await
        .unwrap();
    let cancelled = ecom.returns.cancel(&s.buyer, &third.ret.id).await.unwrap();
    assert_eq!(cancelled.ret.status, ReturnStatus::Cancelled);
    let fourth = ecom
        .returns
        .request(&s.buyer, &order.id, asking(p, 3))
        .await
        .unwrap();
    ecom.returns
        .reject(&s.shop, &fourth.ret.id, "worn")
        .await
        .unwrap();
    ecom.returns
        .dispute(&s.buyer, &fourth.ret.id)
        .await
        .unwrap();
    let resolved = ecom
        .returns
        .resolve(&fourth.ret.id, DisputeOutcome::Refund, None)
        .await
        .unwrap();
    assert_eq!(resolved.ret.status, ReturnStatus::Refunding);
    assert_eq!(
        resolved.ret.refund.as_ref().unwrap().amount.minor,
        3000 + FEE,
        "the last units bring the fee"
    );
    assert_eq!(
        refunds_committed(&resolved.order).unwrap(),
        resolved.order.payment.amount
    );

    fourth
}

/// Another customer's or shop's return is not found; the window closes (the operator's, then
/// the shop's own); lists filter; a request key cannot ask more than is left.
async fn others_and_the_window(
    s: &Shop1,
    order: &Order,
    first: &ReturnOf,
    second: &ReturnOf,
    fourth: &ReturnOf,
) {
    let (ecom, p) = (&s.ecom, &s.product.id);
    let (stranger, _) = customer(ecom).await;
    let (other_shop, _) = shop(ecom).await;
    assert!(matches!(
        ecom.returns.get(&stranger, &first.ret.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ecom.returns
            .accept(&other_shop, &fourth.ret.id, ReturnMode::RefundOnly)
            .await,
        Err(Error::NotFound { .. })
    ));
    let late = delivered(ecom, &s.buyer, request(&s.shop, &[(&s.product, 1)], None)).await;
    s.clock
        .advance(ecom.returns.policy().window + Duration::seconds(1));
    refused(
        ecom,
        &late,
        ecom.returns.request(&s.buyer, &late.id, asking(p, 1)).await,
        "past the window",
    )
    .await;
    // A shop's own window replaces the operator's, for requests from then on.
    for days in [0, 91] {
        let patch = crate::service::ShopSettingsPatch {
            return_window_days: Some(Some(days)),
            ..Default::default()
        };
        assert!(matches!(
            ecom.shops.update_settings(&s.shop, patch).await,
            Err(Error::Validation { .. })
        ));
    }
    let patch = crate::service::ShopSettingsPatch {
        return_window_days: Some(Some(30)),
        ..Default::default()
    };
    ecom.shops.update_settings(&s.shop, patch).await.unwrap();
    let within = ecom
        .returns
        .request(&s.buyer, &late.id, asking(p, 1))
        .await
        .unwrap();
    ecom.returns.cancel(&s.buyer, &within.ret.id).await.unwrap();
    let listed = ecom
        .returns
        .list(
            &crate::returns::ReturnFilter {
                shop: Some(s.shop.clone()),
                status: Some(ReturnStatus::Closed),
                customer: None,
            },
            crate::page::Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|r| r.ret.id.clone()).collect::<Vec<_>>(),
        vec![second.ret.id.clone()]
    );
    let again = ecom
        .returns
        .request(
            &s.buyer,
            &order.id,
            NewReturn {
                request_key: Some(crate::idempotency::IdempotencyKey::parse("k-1").unwrap()),
                ..asking(p, 1)
            },
        )
        .await;
    refused(ecom, order, again, "nothing left, whatever the key").await;
}

/// Refunding every line of random orders (several lines, a percentage code, two shops) in
/// random partial steps gives back exactly what was paid, never a minor unit more.
pub async fn refunds_add_up_to_what_was_paid(backend: &Backend) {
    let clock = clock();
    let ecom = ecom_returning(backend, &clock);
    let (buyer, _) = customer(&ecom).await;
    let mut state = super::seed() | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for round in 0..6 {
        let mut parts = Vec::new();
        let mut products = Vec::new();
        for s in 0..2 {
            let (shop_id, _) = shop(&ecom).await;
            let code = format!("TEN{round}S{s}");
            create_code(&ecom, &shop_id, &code, 100, 100).await;
            let mut items = Vec::new();
            for _ in 0..1 + next(3) {
                let price = format!("{}.{:02}", 1 + next(40), next(100));
                let product = published_product(&ecom, &shop_id, &price, 50).await;
                items.push((product.id.clone(), 1 + next(5) as u32));
                products.push((shop_id.clone(), product.id.clone()));
            }
            let part = ShopOrder::new(shop_id, items);
            parts.push(if next(2) == 0 {
                part.with_code(&code)
            } else {
                part
            });
        }
        let order = delivered(&ecom, &buyer, CheckoutRequest::new(parts)).await;
        let mut left: Vec<(ProductId, u32)> = order
            .lines
            .iter()
            .map(|l| (l.product_id.clone(), l.quantity))
            .collect();
        while left.iter().any(|(_, q)| *q > 0) {
            let open: Vec<usize> = (0..left.len()).filter(|i| left[*i].1 > 0).collect();
            let i = open[next(open.len() as u64) as usize];
            let units = 1 + next(u64::from(left[i].1)) as u32;
            left[i].1 -= units;
            let shop_id = &products.iter().find(|(_, p)| p == &left[i].0).unwrap().0;
            let asked = ecom
                .returns
                .request(&buyer, &order.id, asking(&left[i].0, units))
                .await
                .unwrap();
            ecom.returns
                .accept(shop_id, &asked.ret.id, ReturnMode::RefundOnly)
                .await
                .unwrap();
        }
        let after = stored(&ecom, &order).await;
        assert_eq!(
            refunds_committed(&after).unwrap(),
            after.payment.amount,
            "round {round}: {after:?}"
        );
        for shop_id in after.lines.iter().map(|l| &l.shop_id) {
            let part = after.subtotal_of(shop_id).unwrap().total_checkout;
            let mut back = 0;
            for r in after.returns.iter().filter(|r| &r.shop_id == shop_id) {
                let refund = r.refund.as_ref().unwrap();
                back += refund.amount.minor - refund.shipping.minor;
            }
            assert_eq!(
                back, part.minor,
                "round {round}: the part of shop {shop_id}"
            );
        }
    }
}

/// Two accepts of one return at once, and a customer's cancel racing the shop's receipt:
/// one wins each; an accept racing the sweep's auto-accept: the return is accepted once.
/// Also rejects a return, left undisputed (the caller checks the sweep closes it); its id.
async fn pairs_race(s: &Shop1, order: &Order) -> crate::id::ReturnId {
    let (ecom, p) = (&s.ecom, &s.product.id);
    let ask = || async {
        ecom.returns
            .request(&s.buyer, &order.id, asking(p, 1))
            .await
            .unwrap()
            .ret
            .id
    };
    let twice = ask().await;
    let results = rush(2, |_| {
        let (ecom, shop, id) = (ecom.clone(), s.shop.clone(), twice.clone());
        async move {
            ecom.returns
                .accept(&shop, &id, ReturnMode::ReturnAndRefund)
                .await
        }
    })
    .await;
    assert_race(
        &results,
        1,
        |e| matches!(e, Error::Conflict { .. }),
        "two accepts",
    );
    let results = rush(2, |i| {
        let (ecom, shop, buyer, id) =
            (ecom.clone(), s.shop.clone(), s.buyer.clone(), twice.clone());
        let units = [receipt(&s.product.id, 1, Condition::Resellable)];
        async move {
            match i {
                0 => ecom.returns.cancel(&buyer, &id).await,
                _ => ecom.returns.receive(&shop, &id, &units).await,
            }
        }
    })
    .await;
    assert_race(
        &results,
        1,
        |e| matches!(e, Error::Conflict { .. }),
        "cancel, receive",
    );
    let unanswered = ask().await;
    s.clock
        .advance(ecom.returns.policy().answer_within + Duration::seconds(1));
    let (accepted, swept) = futures::join!(
        ecom.returns
            .accept(&s.shop, &unanswered, ReturnMode::ReturnAndRefund),
        ecom.returns.sweep()
    );
    let by_sweep = swept.unwrap().accepted;
    match accepted {
        Ok(_) => assert_eq!(by_sweep, 0, "accepted by the shop and by the sweep"),
        Err(Error::Conflict { .. }) => assert_eq!(by_sweep, 1, "accepted by nobody"),
        Err(e) => panic!("an accept racing the sweep: {e:?}"),
    }
    let after = stored(ecom, order).await;
    let ret = after.return_of(&unanswered).unwrap();
    assert_eq!(ret.status, ReturnStatus::Accepted);
    let rejected = ask().await;
    ecom.returns.reject(&s.shop, &rejected, "no").await.unwrap();
    rejected
}

/// Racing moves of one return have exactly one winner (accept, reject, cancel at once), and
/// sweeps run by three tasks at once act once per return.
pub async fn racing_moves_and_sweeps_act_once(backend: &Backend) {
    let s = setup(&interleaved(backend)).await;
    let (ecom, p) = (&s.ecom, &s.product.id);
    let order = delivered(ecom, &s.buyer, request(&s.shop, &[(&s.product, 10)], None)).await;
    let rejected = pairs_race(&s, &order).await;
    for _ in 0..2 {
        let asked = ecom
            .returns
            .request(&s.buyer, &order.id, asking(p, 1))
            .await
            .unwrap();
        let results: Vec<crate::Result<ReturnOf>> = rush(3, |i| {
            let (ecom, shop, buyer, id) = (
                ecom.clone(),
                s.shop.clone(),
                s.buyer.clone(),
                asked.ret.id.clone(),
            );
            async move {
                match i {
                    0 => {
                        ecom.returns
                            .accept(&shop, &id, ReturnMode::RefundOnly)
                            .await
                    }
                    1 => ecom.returns.reject(&shop, &id, "no").await,
                    _ => ecom.returns.cancel(&buyer, &id).await,
                }
            }
        })
        .await;
        assert_race(
            &results,
            1,
            |e| matches!(e, Error::Conflict { .. }),
            "accept, reject, cancel",
        );
    }
    let waiting: Vec<_> = {
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(
                ecom.returns
                    .request(&s.buyer, &order.id, asking(p, 1))
                    .await
                    .unwrap()
                    .ret
                    .id,
            );
        }
        ids
    };
    s.clock
        .advance(ecom.returns.policy().answer_within + Duration::seconds(1));
    let sweeps = rush(3, |_| {
        let ecom = ecom.clone();
        async move { ecom.returns.sweep().await.unwrap() }
    })
    .await;
    assert_eq!(
        sweeps.iter().map(|r| r.accepted).sum::<u32>(),
        3,
        "{sweeps:?}"
    );
    let after = stored(ecom, &order).await;
    let events = after
        .returns
        .iter()
        .filter(|r| waiting.contains(&r.id))
        .filter(|r| r.status == ReturnStatus::Accepted)
        .count();
    assert_eq!(events, 3);
    s.clock
        .advance(ecom.returns.policy().ship_within + Duration::seconds(1));
    // The three accepted, and any rejection the races left (never disputed) close.
    let closing = stored(ecom, &order)
        .await
        .returns
        .iter()
        .filter(|r| matches!(r.status, ReturnStatus::Accepted | ReturnStatus::Rejected))
        .count() as u32;
    let sweeps = rush(3, |_| {
        let ecom = ecom.clone();
        async move { ecom.returns.sweep().await.unwrap() }
    })
    .await;
    assert_eq!(
        sweeps.iter().map(|r| r.closed).sum::<u32>(),
        closing,
        "{sweeps:?}"
    );
    let after = stored(ecom, &order).await;
    assert!(after
        .returns
        .iter()
        .filter(|r| waiting.contains(&r.id))
        .all(|r| r.status == ReturnStatus::Closed));
    assert_eq!(
        after.return_of(&rejected).map(|r| r.status),
        Some(ReturnStatus::Closed),
        "a rejection never disputed is closed"
    );
}

/// The refund of a return paid online is asked of the provider under the return's id; a
/// `refund.failed` makes it due again and the sweep asks anew after a back-off; a
/// `refund.succeeded` pays it (a replay changes nothing); a wrong amount or an unknown
/// reference is refused with nothing changed. Cash refunds are the shop's to confirm.
pub async fn online_refunds_follow_the_provider(backend: &Backend) {
    let s = setup(backend).await;
    let (ecom, p) = (&s.ecom, &s.product.id);
    let order = delivered_paying(
        ecom,
        &s.buyer,
        request(&s.shop, &[(&s.product, 3)], None),
        "online",
    )
    .await;
    let asked = ecom
        .returns
        .request(&s.buyer, &order.id, asking(p, 1))
        .await
        .unwrap();
    let id = asked.ret.id.clone();
    let accepted = ecom
        .returns
        .accept(&s.shop, &id, ReturnMode::RefundOnly)
        .await
        .unwrap();
    let refund = accepted.ret.refund.clone().unwrap();
    assert_eq!(
        (refund.amount.minor, refund.status),
        (1000, RefundStatus::Requested),
        "asked at once"
    );
    assert_eq!(accepted.ret.due_at, None);
    refused(
        ecom,
        &order,
        ecom.returns.confirm_refund(&s.shop, &id).await,
        "a shop confirming an online refund",
    )
    .await;

    let failed = ecom
        .payments
        .callback(
            "online",
            &refund_callback(ecom, "rf-1", "refund.failed", &order, id.as_str(), "10.00"),
        )
        .await
        .unwrap();
    let ret = failed.return_of(&id).unwrap();
    assert_eq!(
        ret.refund.as_ref().map(|r| (r.status, r.attempts)),
        Some((RefundStatus::Due, 1))
    );
    let retry = ret.due_at.expect("the sweep asks again");
    assert!(retry > ecom.backend().clock.now());
    assert_eq!(
        ecom.returns.sweep().await.unwrap().refunds_requested,
        0,
        "not before the back-off"
    );
    s.clock.set(retry);
    assert_eq!(ecom.returns.sweep().await.unwrap().refunds_requested, 1);
    let again = stored(ecom, &order).await;
    assert_eq!(
        again
            .return_of(&id)
            .unwrap()
            .refund
            .as_ref()
            .unwrap()
            .status,
        RefundStatus::Requested
    );

    for (event, amount, reference) in [
        ("rf-2", "9.99", id.as_str()),
        ("rf-3", "10.00", "00000000000000000000000000000000"),
    ] {
        let result = ecom
            .payments
            .callback(
                "online",
                &refund_callback(ecom, event, "refund.succeeded", &order, reference, amount),
            )
            .await;
        refused(ecom, &order, result, "a wrong amount or reference").await;
    }
    let paid = ecom
        .payments
        .callback(
            "online",
            &refund_callback(
                ecom,
                "rf-4",
                "refund.succeeded",
                &order,
                id.as_str(),
                "10.00",
            ),
        )
        .await
        .unwrap();
    assert_eq!(paid.return_of(&id).unwrap().status, ReturnStatus::Refunded);
    assert_eq!(refunded(&paid).unwrap().minor, 1000);
    assert_eq!(
        paid.payment.status,
        PaymentStatus::Paid,
        "the payment stays paid; the return is refunded"
    );
    let replay = ecom
        .payments
        .callback(
            "online",
            &refund_callback(
                ecom,
                "rf-4",
                "refund.succeeded",
                &order,
                id.as_str(),
                "10.00",
            ),
        )
        .await
        .unwrap();
    assert_eq!(replay, stored(ecom, &order).await);
    assert_eq!(replay.version, paid.version, "a replay changes nothing");
}
