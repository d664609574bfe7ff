//! A shop sees only its part of an order from several shops: its lines, its discount, its
//! subtotal, the shipping address and the payment method; never the other shop's lines or
//! code, never payment details. Tracking numbers and notes are kept per shop.

use crate::support::{self, signup, Account, Api};
use reqwest::Method;
use serde_json::{json, Value};

/// A published tee of `shop` with 10 units.
async fn published(api: &Api, shop: &Account, name: &str, price: Value) -> String {
    support::published(api, shop, name, price, 10).await
}

async fn each_shop_sees_its_own_part(api: Api) {
    let api = &api;
    let shop_a = signup(api, "shop", "a@view.example").await;
    let shop_b = signup(api, "shop", "b@view.example").await;
    let user = signup(api, "user", "buyer@view.example").await;
    let a = published(api, &shop_a, "A Tee", json!(20)).await;
    let b = published(api, &shop_b, "B Mug", json!(8)).await;
    let code = json!({"code": "ASECRET", "name": "A only", "type": "fixed", "value": 5,
        "start_date": "2025-01-01T00:00:00Z", "end_date": "2030-01-01T00:00:00Z",
        "max_uses": 10, "max_uses_per_user": 1, "applies_to": "all"});
    api.api(Method::POST, "/discounts", &shop_a.auth(), Some(code))
        .await
        .ok(201);
    let body = json!({
        "shop_order_ids": [
            {"shopId": shop_a.id, "shop_discounts": [{"shopId": shop_a.id, "codeId": "ASECRET"}],
             "item_products": [{"productId": a, "quantity": 2}]},
            {"shopId": shop_b.id, "item_products": [{"productId": b, "quantity": 1}]}
        ],
        "user_address": {"street": "1 Main St"},
        "user_payment": {"method": "cod"}
    });
    let placed = api
        .api(Method::POST, "/checkout/order", &user.auth(), Some(body))
        .await;
    let order = placed.ok(201)["_id"].as_str().unwrap().to_owned();
    let path = format!("/orders/{order}/status");

    let mut change = json!({"orderProducts": [{"productIds": [b], "status": "confirmed"}]});
    change["trackingNumber"] = json!("B-TRACK");
    change["note"] = json!("B packs today");
    let answer = api
        .api(Method::PATCH, &path, &shop_b.auth(), Some(change))
        .await;
    let view = answer.ok(200).clone();
    for secret in [
        "4242",
        "Ann Buyer",
        "ASECRET",
        "A Tee",
        shop_a.id.as_str(),
        a.as_str(),
    ] {
        assert!(
            !answer.text.contains(secret),
            "shop B's view shows {secret}: {}",
            answer.text
        );
    }
    assert_eq!(
        view["order_products"],
        json!([{"shopId": shop_b.id, "shop_discounts": [],
            "item_products": [{"productId": b, "name": "B Mug", "quantity": 1, "price": 8.0,
                "status": "confirmed"}],
            "trackingNumber": "B-TRACK", "note": "B packs today"}])
    );
    assert_eq!(
        view["order_payment"],
        json!({"method": "cod", "status": "pending"}),
        "the method and status only"
    );
    assert_eq!(view["order_shipping"], json!({"street": "1 Main St"}));
    assert_eq!(
        view["order_subtotal"],
        json!({"totalPrice": 8.0, "feeShip": 0.0, "totalDiscount": 0.0, "totalCheckout": 8.0})
    );
    assert_eq!(view["order_status"], "confirmed", "B's lines only");

    // A sets its own tracking number and note; B's stay.
    let mut change = json!({"orderProducts": [{"productIds": [a], "status": "confirmed"}]});
    change["trackingNumber"] = json!("A-TRACK");
    change["note"] = json!("A ships Monday");
    let answer = api
        .api(Method::PATCH, &path, &shop_a.auth(), Some(change))
        .await;
    let view = answer.ok(200).clone();
    assert!(!answer.text.contains("B-TRACK") && !answer.text.contains("B Mug"));
    assert_eq!(view["order_products"][0]["trackingNumber"], "A-TRACK");
    assert_eq!(
        view["order_subtotal"],
        json!({"totalPrice": 40.0, "feeShip": 0.0, "totalDiscount": 5.0, "totalCheckout": 35.0})
    );
    assert_eq!(
        view["order_products"][0]["shop_discounts"],
        json!([{"shopId": shop_a.id, "codeId": "ASECRET", "discount": 5.0}])
    );

    // The customer sees both parts, each with its own tracking number and note.
    let mine = api
        .api(Method::GET, &format!("/orders/{order}"), &user.auth(), None)
        .await;
    let mine = mine.ok(200);
    let parts = mine["order_products"].as_array().unwrap();
    let part = |shop: &str| parts.iter().find(|p| p["shopId"] == shop).unwrap().clone();
    assert_eq!(part(&shop_a.id)["trackingNumber"], "A-TRACK");
    assert_eq!(part(&shop_a.id)["note"], "A ships Monday");
    assert_eq!(part(&shop_b.id)["trackingNumber"], "B-TRACK");
    assert_eq!(part(&shop_b.id)["note"], "B packs today");
    assert_eq!(
        mine["order_trackingNumber"],
        Value::Null,
        "two shops, two numbers"
    );
    assert_eq!(
        mine["order_payment"],
        json!({"method": "cod", "status": "pending", "amount": 45.5, "currency": "USD",
            "refund_requested": false, "refunded": 0.0, "refundable": 0.0}),
        "the customer's own payment, whole: 40 - 5 + 8 + 2.50 shipping"
    );
}

#[tokio::test]
async fn each_shop_sees_its_own_part_on_memory() {
    support::on_memory(each_shop_sees_its_own_part).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shop_sees_its_own_part_on_mongo() {
    support::on_mongo_redis("atomic", each_shop_sees_its_own_part).await;
}
