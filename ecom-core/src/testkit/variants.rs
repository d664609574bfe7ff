//! Variants: models with their own price, SKU and stock, per-model lines, reservations,
//! restocks and adjustments, on every backend.

use super::checkout::{
    assert_stock_matches, ecom_with, out_of_stock, place, placed_orders, rush_checkouts,
};
use super::{customer, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::inventory::{Reservation, StockChange};
use crate::money::{Currency, Money};
use crate::order::OrderStatus;
use crate::product::Product;
use crate::service::{
    CartItem, CartUpdate, CatalogueQuery, CheckoutRequest, CheckoutStrategy, Ecom,
    LineStatusChange, NewProduct, ProductPatch, ShopOrder, StatusUpdate,
};
use crate::variant::{ModelInput, Offer, Variation};

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

/// Color (Red, Blue) x Size (S, M, L): six models, priced 10.00 + 1.00 per size step + 0.50
/// for Blue, stock `stocks[i]` for the model `[i / 3, i % 3]`.
fn tee(stocks: [u32; 6]) -> NewProduct {
    let models = (0..6u32)
        .map(|i| {
            let (color, size) = (i / 3, i % 3);
            ModelInput::new(
                [color, size],
                usd(1000 + 100 * i64::from(size) + 50 * i64::from(color)),
                stocks[i as usize],
            )
            .with_sku(format!("TEE-{color}-{size}"))
        })
        .collect();
    NewProduct::with_variants(
        "Variant tee",
        "Clothing",
        vec![
            Variation::new("Color", ["Red", "Blue"]),
            Variation::new("Size", ["S", "M", "L"]),
        ],
        models,
    )
    .with_thumb("tee.png")
    .with_attribute("brand", "Suite")
    .with_category("Fashion/Tees")
}

async fn published_tee(ecom: &Ecom, shop: &ShopId, stocks: [u32; 6]) -> Product {
    let product = ecom.products.create(shop, tee(stocks)).await.unwrap();
    ecom.products.publish(shop, &product.id).await.unwrap()
}

/// The model of `product` with options `[color, size]`.
fn model(product: &Product, color: u32, size: u32) -> ProductId {
    product
        .models
        .iter()
        .find(|m| m.tier_index == [color, size])
        .map(|m| m.id.clone())
        .expect("the model exists")
}

fn buy(shop: &ShopId, product: &Product, lines: &[(ProductId, u32)]) -> CheckoutRequest {
    let mut part = ShopOrder::new(shop.clone(), []);
    for (m, quantity) in lines {
        part = part.with_model(product.id.clone(), m.clone(), *quantity);
    }
    CheckoutRequest::new([part])
}

fn is_validation(e: &Error, field: &str) -> bool {
    matches!(e, Error::Validation { field: f, .. } if f == field)
}

async fn free_stock(backend: &Backend, id: &ProductId) -> u64 {
    backend.inventory.get(id).await.unwrap().unwrap().stock
}

/// A 2 x 3 product: each model has its price, SKU, name and stock record; the product shows
/// the lowest price and the sum of stock; each model sells at its own price, and one model
/// sold out leaves the others selling (and the product in stock until all are out).
pub async fn models_have_their_own_price_and_stock(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_tee(&ecom, &shop, [3, 5, 5, 5, 5, 0]).await;
    assert_eq!(product.models.len(), 6);
    assert_eq!(product.price, usd(1000));
    assert_eq!(product.price_max(), usd(1250));
    assert_eq!(product.quantity, 23);
    let red_m = model(&product, 0, 1);
    let red_s = model(&product, 0, 0);
    let blue_l = model(&product, 1, 2);
    let names: Vec<&str> = product.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["Red / S", "Red / M", "Red / L", "Blue / S", "Blue / M", "Blue / L"]
    );
    assert_eq!(product.models[1].sku.as_deref(), Some("TEE-0-1"));
    // Read back as stored.
    let stored = ecom.products.get(&product.id, None).await.unwrap();
    assert_eq!(stored.models, product.models);
    assert_eq!(stored.variations, product.variations);
    // One stock record per model, none for the product itself.
    assert!(backend.inventory.get(&product.id).await.unwrap().is_none());
    for m in &product.models {
        let record = backend.inventory.get(&m.id).await.unwrap().unwrap();
        assert_eq!(record.stock, u64::from(m.stock));
        assert_eq!(record.model_of.as_ref(), Some(&product.id));
    }
    let stock = ecom.inventory.get(&shop, &product.id).await.unwrap();
    assert_eq!(stock.models.len(), 6);
    assert_eq!(stock.total.stock, 23);
    // Each model at its own price.
    let customer_id = CustomerId::generate();
    let request = buy(&shop, &product, &[(red_m.clone(), 2), (blue_l.clone(), 1)]);
    let review = ecom.checkout.review(&customer_id, &request).await.unwrap();
    let prices: Vec<(Option<ProductId>, i64)> = review.shops[0]
        .items
        .iter()
        .map(|i| (i.model_id.clone(), i.unit_price.minor))
        .collect();
    assert!(prices.contains(&(Some(red_m.clone()), 1100)));
    assert!(prices.contains(&(Some(blue_l.clone()), 1250)));
    assert_eq!(review.totals.total_price, usd(2 * 1100 + 1250));
    // Blue / L has no stock: the order is refused whole.
    let refused = ecom
        .checkout
        .place_order(&customer_id, place(request, None))
        .await;
    assert!(
        matches!(&refused, Err(Error::InsufficientStock { product_id })
            if product_id.contains("Blue / L") && product_id.contains(blue_l.as_str())),
        "the refusal names the model: {refused:?}"
    );
    assert_eq!(free_stock(backend, &red_m).await, 5);
    // Red / S sells out while Red / M keeps selling.
    let mut orders = Vec::new();
    for (m, quantity) in [(&red_s, 3), (&red_m, 2)] {
        let order = ecom
            .checkout
            .place_order(
                &CustomerId::generate(),
                place(buy(&shop, &product, &[(m.clone(), quantity)]), None),
            )
            .await
            .unwrap();
        assert_eq!(order.lines[0].model_id.as_ref(), Some(m));
        orders.push(order);
    }
    assert_eq!(orders[1].lines[0].model_name.as_deref(), Some("Red / M"));
    assert_eq!(orders[1].lines[0].unit_price, usd(1100));
    let sold_out = ecom
        .checkout
        .place_order(
            &CustomerId::generate(),
            place(buy(&shop, &product, &[(red_s.clone(), 1)]), None),
        )
        .await;
    assert!(matches!(sold_out, Err(Error::InsufficientStock { .. })));
    ecom.checkout.flush().await;
    let received: Vec<(ProductId, u64)> = product
        .models
        .iter()
        .map(|m| (m.id.clone(), u64::from(m.stock)))
        .collect();
    assert_stock_matches(backend, &received, &orders, "after selling two models").await;
    // Units sold are the product's, summed over its models; it stays in stock.
    let read = ecom.products.get(&product.id, None).await.unwrap();
    assert_eq!(read.sold, 5);
    let in_stock = CatalogueQuery {
        shop: Some(shop.clone()),
        in_stock: true,
        ..CatalogueQuery::default()
    };
    let listing = ecom.catalogue.browse(&in_stock).await.unwrap();
    assert_eq!(listing.total, 1, "in stock while some model is");
    // Price filters look at every model's price.
    let between = CatalogueQuery {
        shop: Some(shop.clone()),
        min_price: Some(usd(1240)),
        max_price: Some(usd(1260)),
        ..CatalogueQuery::default()
    };
    assert_eq!(ecom.catalogue.browse(&between).await.unwrap().total, 1);
    let above = CatalogueQuery {
        shop: Some(shop.clone()),
        min_price: Some(usd(1300)),
        ..CatalogueQuery::default()
    };
    assert_eq!(ecom.catalogue.browse(&above).await.unwrap().total, 0);
    let facets = ecom.catalogue.facets(&between).await.unwrap();
    assert_eq!(facets.price, Some((usd(1000), usd(1250))));
    // Every model out: the in-stock filter leaves the product out.
    for m in &product.models {
        let free = free_stock(backend, &m.id).await;
        if free > 0 {
            ecom.inventory
                .adjust(
                    &shop,
                    &product.id,
                    Some(&m.id),
                    StockChange::Set(0),
                    "Count",
                )
                .await
                .unwrap();
        }
    }
    assert_eq!(ecom.catalogue.browse(&in_stock).await.unwrap().total, 0);
}

/// 1,000 concurrent single-unit orders spread over the six models of one product (one model
/// without stock), under conditional writes and through the stock gate: exactly each model's
/// stock is sold, and the books of every model balance.
pub async fn thousand_orders_across_models(backend: &Backend) {
    const STOCKS: [u32; 6] = [40, 25, 10, 60, 15, 0];
    for strategy in [CheckoutStrategy::Atomic, CheckoutStrategy::Gate] {
        let ecom = ecom_with(backend, strategy);
        let (shop, _) = shop(&ecom).await;
        let product = published_tee(&ecom, &shop, STOCKS).await;
        let models: Vec<ProductId> = product.models.iter().map(|m| m.id.clone()).collect();
        let results = rush_checkouts(&ecom, 1000, |i| {
            let m = models[i % models.len()].clone();
            (
                CustomerId::generate(),
                place(buy(&shop, &product, &[(m, 1)]), None),
            )
        })
        .await;
        let orders = placed_orders(results, out_of_stock);
        ecom.checkout.flush().await;
        for (i, m) in models.iter().enumerate() {
            let sold = orders
                .iter()
                .filter(|o| o.lines[0].model_id.as_ref() == Some(m))
                .count();
            assert_eq!(
                sold, STOCKS[i] as usize,
                "{strategy:?}: model {i} sold exactly its stock"
            );
            assert_eq!(free_stock(backend, m).await, 0);
        }
        let received: Vec<(ProductId, u64)> = models
            .iter()
            .zip(STOCKS)
            .map(|(m, s)| (m.clone(), u64::from(s)))
            .collect();
        assert_stock_matches(backend, &received, &orders, "1,000 orders across models").await;
        let read = ecom.products.get(&product.id, None).await.unwrap();
        assert_eq!(read.sold, u64::from(STOCKS.iter().sum::<u32>()));
    }
}

/// A line names its model exactly when its product has models (carts, quotes, reviews,
/// checkouts); two models of one product are two lines.
pub async fn lines_name_a_model_exactly_when_the_product_has_models(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let (buyer, _) = customer(&ecom).await;
    let product = published_tee(&ecom, &shop, [5; 6]).await;
    let plain = super::published_product(&ecom, &shop, "4.00", 5).await;
    let red_m = model(&product, 0, 1);
    let blue_s = model(&product, 1, 0);
    let refused = [
        ecom.carts
            .add(&buyer, CartItem::new(product.id.clone(), shop.clone(), 1))
            .await,
        ecom.carts
            .add(
                &buyer,
                CartItem::new(plain.id.clone(), shop.clone(), 1).of_model(red_m.clone()),
            )
            .await,
        ecom.carts
            .add(
                &buyer,
                CartItem::new(product.id.clone(), shop.clone(), 1).of_model(plain.id.clone()),
            )
            .await,
    ];
    for result in &refused {
        assert!(
            matches!(result, Err(e) if is_validation(e, "model_id")),
            "{result:?}"
        );
    }
    assert!(
        ecom.carts.get(&buyer).await.unwrap().is_none(),
        "nothing added"
    );
    let without_model =
        CheckoutRequest::new([ShopOrder::new(shop.clone(), [(product.id.clone(), 1)])]);
    let review = ecom.checkout.review(&buyer, &without_model).await;
    assert!(
        matches!(review, Err(ref e) if is_validation(e, "model_id")),
        "{review:?}"
    );
    let placed = ecom
        .checkout
        .place_order(&buyer, place(without_model, None))
        .await;
    assert!(matches!(placed, Err(ref e) if is_validation(e, "model_id")));
    assert_eq!(free_stock(backend, &red_m).await, 5);
    // Two models of one product are two lines; the plain product is a line without a model.
    for item in [
        CartItem::new(product.id.clone(), shop.clone(), 2).of_model(red_m.clone()),
        CartItem::new(product.id.clone(), shop.clone(), 1).of_model(blue_s.clone()),
        CartItem::new(product.id.clone(), shop.clone(), 1).of_model(red_m.clone()),
        CartItem::new(plain.id.clone(), shop.clone(), 1),
    ] {
        ecom.carts.add(&buyer, item).await.unwrap();
    }
    let cart = ecom.carts.get(&buyer).await.unwrap().unwrap();
    let mut lines: Vec<(Option<ProductId>, u32, i64)> = cart
        .lines
        .iter()
        .map(|l| (l.model_id.clone(), l.quantity, l.price.minor))
        .collect();
    lines.sort();
    let mut expected = vec![
        (Some(red_m.clone()), 3, 1100),
        (Some(blue_s.clone()), 1, 1050),
        (None, 1, 400),
    ];
    expected.sort();
    assert_eq!(lines, expected);
    let update = |m: &ProductId, quantity, old_quantity| CartUpdate {
        shop_id: shop.clone(),
        product_id: product.id.clone(),
        model_id: Some(m.clone()),
        quantity,
        old_quantity,
    };
    let cart = ecom
        .carts
        .update(&buyer, vec![update(&red_m, 1, 3), update(&blue_s, 0, 1)])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cart.lines.len(), 2);
    let red_line = cart
        .lines
        .iter()
        .find(|l| l.model_id.as_ref() == Some(&red_m));
    assert_eq!(red_line.map(|l| l.quantity), Some(1));
    // Checking out the cart's lines removes exactly them.
    let request = CheckoutRequest::new([ShopOrder::new(shop.clone(), [(plain.id.clone(), 1)])
        .with_model(product.id.clone(), red_m.clone(), 1)]);
    let order = ecom
        .checkout
        .place_order(&buyer, place(request, None))
        .await
        .unwrap();
    assert_eq!(order.lines.len(), 2);
    ecom.checkout.flush().await;
    let after = ecom.carts.get(&buyer).await.unwrap();
    assert!(
        after.as_ref().is_none_or(|c| c.lines.is_empty()),
        "{after:?}"
    );
    assert_eq!(free_stock(backend, &red_m).await, 4);
    assert_eq!(free_stock(backend, &plain.id).await, 4);
}

/// Cancelling restocks the model each line took its units from, and only it; a shop can
/// cancel one model's line by naming the model.
pub async fn cancel_restocks_the_right_model(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_tee(&ecom, &shop, [5; 6]).await;
    let (red_m, blue_s) = (model(&product, 0, 1), model(&product, 1, 0));
    let customer_id = CustomerId::generate();
    let order = ecom
        .checkout
        .place_order(
            &customer_id,
            place(
                buy(&shop, &product, &[(red_m.clone(), 2), (blue_s.clone(), 1)]),
                None,
            ),
        )
        .await
        .unwrap();
    ecom.checkout.flush().await;
    let received: Vec<(ProductId, u64)> =
        product.models.iter().map(|m| (m.id.clone(), 5)).collect();
    assert_stock_matches(backend, &received, std::slice::from_ref(&order), "placed").await;
    // The shop cancels the Blue / S line only.
    let updated = ecom
        .orders
        .update_status(
            &shop,
            &order.id,
            StatusUpdate {
                lines: vec![LineStatusChange {
                    product_ids: vec![blue_s.clone()],
                    status: OrderStatus::Cancelled,
                }],
                ..StatusUpdate::default()
            },
        )
        .await
        .unwrap();
    let status = |m: &ProductId| {
        updated
            .lines
            .iter()
            .find(|l| l.model_id.as_ref() == Some(m))
            .map(|l| l.status)
    };
    assert_eq!(status(&blue_s), Some(OrderStatus::Cancelled));
    assert_eq!(status(&red_m), Some(OrderStatus::Pending));
    assert_eq!(free_stock(backend, &blue_s).await, 5);
    assert_eq!(free_stock(backend, &red_m).await, 3);
    // The customer cancels the rest.
    let cancelled = ecom.orders.cancel(&customer_id, &order.id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    for m in &product.models {
        let record = backend.inventory.get(&m.id).await.unwrap().unwrap();
        assert_eq!((record.stock, record.sold), (5, 0), "{}", m.name);
    }
    assert_stock_matches(backend, &received, &[], "cancelled").await;
    assert_eq!(ecom.products.get(&product.id, None).await.unwrap().sold, 0);
}

/// Returned units of a model's line go back to that model's stock record: resellable ones to
/// its free stock, damaged ones aside, both out of its units sold; the other model and the
/// product's units sold follow.
pub async fn returns_restock_the_right_model(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_tee(&ecom, &shop, [5; 6]).await;
    let (red_m, blue_s) = (model(&product, 0, 1), model(&product, 1, 0));
    let (customer_id, _) = customer(&ecom).await;
    let order = ecom
        .checkout
        .place_order(
            &customer_id,
            place(
                buy(&shop, &product, &[(red_m.clone(), 2), (blue_s.clone(), 1)]),
                None,
            ),
        )
        .await
        .unwrap();
    ecom.checkout.flush().await;
    for status in [
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
    ] {
        let update = StatusUpdate {
            lines: vec![LineStatusChange {
                product_ids: vec![product.id.clone()],
                status,
            }],
            ..StatusUpdate::default()
        };
        ecom.orders
            .update_status(&shop, &order.id, update)
            .await
            .unwrap();
    }
    let asked = ecom
        .returns
        .request(
            &customer_id,
            &order.id,
            crate::service::NewReturn {
                lines: vec![crate::service::ReturnItem {
                    product_id: product.id.clone(),
                    model_id: Some(red_m.clone()),
                    quantity: 2,
                }],
                reason: crate::returns::ReturnReason::WrongItem,
                note: None,
                evidence: Vec::new(),
                request_key: None,
            },
        )
        .await
        .unwrap();
    let id = &asked.ret.id;
    ecom.returns
        .accept(&shop, id, crate::returns::ReturnMode::ReturnAndRefund)
        .await
        .unwrap();
    let received = [
        (crate::returns::Condition::Resellable, 1),
        (crate::returns::Condition::Damaged, 1),
    ]
    .map(|(condition, quantity)| crate::service::ReceivedLine {
        product_id: product.id.clone(),
        model_id: Some(red_m.clone()),
        quantity,
        condition,
    });
    let done = ecom.returns.receive(&shop, id, &received).await.unwrap();
    assert!(!done.ret.restock_due());
    let record = |id: ProductId| async move { backend.inventory.get(&id).await.unwrap().unwrap() };
    let red = record(red_m.clone()).await;
    assert_eq!((red.stock, red.sold, red.damaged), (4, 0, 1), "Red / M");
    let blue = record(blue_s.clone()).await;
    assert_eq!((blue.stock, blue.sold, blue.damaged), (4, 1, 0), "Blue / S");
    assert_eq!(ecom.products.get(&product.id, None).await.unwrap().sold, 1);
}

/// Stock is added to, adjusted and counted per model; the model is required for a product
/// with models and refused for one without.
pub async fn adjustments_per_model(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_tee(&ecom, &shop, [5; 6]).await;
    let plain = super::published_product(&ecom, &shop, "4.00", 5).await;
    let (red_m, blue_s) = (model(&product, 0, 1), model(&product, 1, 0));
    let inventory = &ecom.inventory;
    let adjusted = inventory
        .adjust(
            &shop,
            &product.id,
            Some(&red_m),
            StockChange::Delta(-2),
            "Damaged",
        )
        .await
        .unwrap();
    assert_eq!(adjusted.adjustment.model_id.as_ref(), Some(&red_m));
    assert_eq!(adjusted.inventory.stock, 3);
    inventory
        .add_stock(&shop, &product.id, Some(&blue_s), 7, None)
        .await
        .unwrap();
    inventory
        .adjust(
            &shop,
            &product.id,
            Some(&blue_s),
            StockChange::Set(10),
            "Count",
        )
        .await
        .unwrap();
    assert_eq!(free_stock(backend, &red_m).await, 3);
    assert_eq!(free_stock(backend, &blue_s).await, 10);
    let stock = inventory.get(&shop, &product.id).await.unwrap();
    assert_eq!(stock.total.stock, 5 * 4 + 3 + 10);
    let history = inventory
        .adjustments(
            &shop,
            &product.id,
            Some(&blue_s),
            crate::page::Page::default(),
        )
        .await
        .unwrap();
    let deltas: Vec<i64> = history.iter().map(|a| a.delta).collect();
    assert_eq!(deltas, [-2], "the set from 12 to 10, newest first");
    let red_history = inventory
        .adjustments(
            &shop,
            &product.id,
            Some(&red_m),
            crate::page::Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(red_history.len(), 1);
    // Without a model, with another product's model, or a model on a plain product: 400.
    let refusals = [
        inventory
            .adjust(&shop, &product.id, None, StockChange::Delta(1), "No model")
            .await
            .err(),
        inventory
            .add_stock(&shop, &plain.id, Some(&red_m), 1, None)
            .await
            .err(),
        inventory
            .adjust(
                &shop,
                &product.id,
                Some(&plain.id),
                StockChange::Delta(1),
                "Wrong",
            )
            .await
            .err(),
    ];
    for e in refusals {
        assert!(
            e.as_ref().is_some_and(|e| is_validation(e, "model_id")),
            "{e:?}"
        );
    }
    // Another shop cannot touch the models.
    let (other, _) = super::shop(&ecom).await;
    let foreign = inventory
        .adjust(
            &other,
            &product.id,
            Some(&red_m),
            StockChange::Delta(1),
            "Mine",
        )
        .await;
    assert!(
        matches!(foreign, Err(Error::NotFound { .. })),
        "{foreign:?}"
    );
    assert_eq!(free_stock(backend, &red_m).await, 3);
}

/// A patch adds models, reprices and re-SKUs them, and removes one (its free units leave by a
/// recorded adjustment); a model whose stock is held cannot be removed (409); a product
/// created without models cannot gain them; a product with models has no price of its own.
pub async fn patch_adds_changes_and_removes_models(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let product = published_tee(&ecom, &shop, [5; 6]).await;
    let red_m = model(&product, 0, 1);
    let blue_l = model(&product, 1, 2);
    let patched = add_reprice_and_re_sku(backend, &ecom, &shop, &product, &red_m).await;
    let removed = remove_a_model(backend, &ecom, &shop, &product, &patched, &blue_l).await;
    refused_patches(&ecom, &shop, &product, &removed).await;
}

/// A patch adds a size (and a model of it), reprices and re-SKUs Red / M; a checkout pays the
/// new price. The patched product.
async fn add_reprice_and_re_sku(
    backend: &Backend,
    ecom: &Ecom,
    shop: &ShopId,
    product: &Product,
    red_m: &ProductId,
) -> Product {
    let mut inputs: Vec<ModelInput> = product.models.iter().map(ModelInput::keep).collect();
    inputs[1].price = usd(900);
    inputs[1].sku = Some("RED-M".into());
    let mut tiers = product.variations.clone();
    tiers[1].options.push("XL".into());
    inputs.push(ModelInput::new([0, 3], usd(1500), 4));
    let patched = ecom
        .products
        .update(
            shop,
            &product.id,
            ProductPatch {
                variations: Some(tiers),
                models: Some(inputs.clone()),
                ..ProductPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.models.len(), 7);
    assert_eq!(patched.price, usd(900), "the lowest model price");
    assert_eq!(patched.price_max(), usd(1500));
    let red_xl = model(&patched, 0, 3);
    assert_eq!(free_stock(backend, &red_xl).await, 4);
    assert_eq!(
        backend
            .inventory
            .get(&red_xl)
            .await
            .unwrap()
            .unwrap()
            .model_of,
        Some(product.id.clone())
    );
    let red_m_model = patched.models.iter().find(|m| m.id == *red_m).unwrap();
    assert_eq!(
        (red_m_model.price, red_m_model.sku.as_deref()),
        (usd(900), Some("RED-M"))
    );
    // The new price is what a checkout pays.
    let review = ecom
        .checkout
        .review(
            &CustomerId::generate(),
            &buy(shop, &patched, &[(red_m.clone(), 1)]),
        )
        .await
        .unwrap();
    assert_eq!(review.totals.total_price, usd(900));
    patched
}

/// Removing Blue / L while a checkout holds its stock: 409, nothing changes; once released, it
/// goes and its free units leave by a recorded adjustment. The product without it.
async fn remove_a_model(
    backend: &Backend,
    ecom: &Ecom,
    shop: &ShopId,
    product: &Product,
    patched: &Product,
    blue_l: &ProductId,
) -> Product {
    let hold = Reservation {
        id: "held-for-the-test".into(),
        order_id: crate::id::OrderId::generate(),
        quantity: 1,
        created_at: backend.clock.now(),
    };
    backend
        .inventory
        .reserve(blue_l, std::slice::from_ref(&hold))
        .await
        .unwrap();
    let without_blue_l: Vec<ModelInput> = patched
        .models
        .iter()
        .filter(|m| m.id != *blue_l)
        .map(ModelInput::keep)
        .collect();
    let remove = ProductPatch {
        models: Some(without_blue_l),
        ..ProductPatch::default()
    };
    let held = ecom
        .products
        .update(shop, &product.id, remove.clone())
        .await;
    assert!(matches!(held, Err(Error::Conflict { .. })), "{held:?}");
    assert_eq!(
        ecom.products
            .get(&product.id, None)
            .await
            .unwrap()
            .models
            .len(),
        7
    );
    backend
        .inventory
        .release(blue_l, std::slice::from_ref(&hold))
        .await
        .unwrap();
    let removed = ecom
        .products
        .update(shop, &product.id, remove)
        .await
        .unwrap();
    assert_eq!(removed.models.len(), 6);
    assert_eq!(free_stock(backend, blue_l).await, 0, "its free units left");
    let retired = backend
        .inventory
        .adjustments(blue_l, crate::page::Page::default())
        .await
        .unwrap();
    assert_eq!(retired.first().map(|a| a.delta), Some(-5));
    let gone = ecom
        .checkout
        .review(
            &CustomerId::generate(),
            &buy(shop, &removed, &[(blue_l.clone(), 1)]),
        )
        .await;
    assert!(
        matches!(gone, Err(ref e) if is_validation(e, "model_id")),
        "{gone:?}"
    );
    removed
}

/// No price of its own; no models for a product made without them; no stock edits here.
async fn refused_patches(ecom: &Ecom, shop: &ShopId, product: &Product, removed: &Product) {
    let priced = ecom
        .products
        .update(
            shop,
            &product.id,
            ProductPatch {
                price: Some(usd(100)),
                ..ProductPatch::default()
            },
        )
        .await;
    assert!(
        matches!(priced, Err(ref e) if is_validation(e, "price")),
        "{priced:?}"
    );
    let mut restock = removed
        .models
        .iter()
        .map(ModelInput::keep)
        .collect::<Vec<_>>();
    restock[0].stock = Some(50);
    let restocked = ecom
        .products
        .update(
            shop,
            &product.id,
            ProductPatch {
                models: Some(restock),
                ..ProductPatch::default()
            },
        )
        .await;
    assert!(matches!(restocked, Err(ref e) if is_validation(e, "models")));
    let plain = super::published_product(ecom, shop, "4.00", 5).await;
    let gain = ecom
        .products
        .update(
            shop,
            &plain.id,
            ProductPatch {
                variations: Some(vec![Variation::new("Size", ["S"])]),
                models: Some(vec![ModelInput::new([0], usd(100), 1)]),
                ..ProductPatch::default()
            },
        )
        .await;
    assert!(
        matches!(gain, Err(ref e) if is_validation(e, "models")),
        "{gain:?}"
    );
}

/// Malformed tiers and models are refused, naming the field, and write nothing.
pub async fn bad_variants_are_refused(backend: &Backend) {
    let ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let parts = |product: NewProduct| match product.offer {
        Offer::Models { variations, models } => (variations, models),
        Offer::Single { .. } => unreachable!("tee has models"),
    };
    let with = |variations: Vec<Variation>, models: Vec<ModelInput>| NewProduct {
        offer: Offer::Models { variations, models },
        ..tee([1; 6])
    };
    let tiers = |t: Vec<Variation>| with(t, parts(tee([1; 6])).1);
    let models = |m: Vec<ModelInput>| with(parts(tee([1; 6])).0, m);
    let one = |i: Vec<u32>| ModelInput::new(i, usd(100), 1);
    let twenty_one: Vec<String> = (0..21).map(|i| format!("o{i}")).collect();
    // A price (or stock) of the product's own beside models: refused where the parts meet.
    let (tee_tiers, tee_models) = parts(tee([1; 6]));
    for (price, stock) in [(Some(usd(100)), None), (None, Some(3))] {
        let mixed = Offer::from_parts(price, stock, tee_tiers.clone(), Some(tee_models.clone()));
        assert!(
            matches!(mixed, Err(ref e) if is_validation(e, "price")),
            "{mixed:?}"
        );
    }
    let no_models = models(Vec::new());
    let no_tiers = tiers(Vec::new());
    let cases: Vec<(NewProduct, &str)> = vec![
        (
            tiers(vec![
                Variation::new("A", ["x"]),
                Variation::new("B", ["x"]),
                Variation::new("C", ["x"]),
            ]),
            "variations",
        ),
        (
            tiers(vec![
                Variation::new("Color", twenty_one),
                Variation::new("Size", ["S", "M", "L"]),
            ]),
            "variations",
        ),
        (
            tiers(vec![
                Variation::new("Color", ["Red", "red"]),
                Variation::new("Size", ["S", "M", "L"]),
            ]),
            "variations",
        ),
        (
            tiers(vec![
                Variation::new("Color", ["Red", "Blue"]),
                Variation::new("Size", ["S", "M", "Huge"]),
            ]),
            "variations",
        ),
        (models(vec![one(vec![0, 3])]), "models"),
        (models(vec![one(vec![0])]), "models"),
        (models(vec![one(vec![0, 0]), one(vec![0, 0])]), "models"),
        (
            models(vec![
                one(vec![0, 0]).with_sku("A"),
                one(vec![0, 1]).with_sku("A"),
            ]),
            "models",
        ),
        (models(vec![ModelInput::new([0, 0], usd(0), 1)]), "models"),
        (no_models, "models"),
        (no_tiers, "variations"),
    ];
    for (input, field) in cases {
        let result = ecom.products.create(&shop, input.clone()).await;
        assert!(
            matches!(result, Err(ref e) if is_validation(e, field)),
            "{field}: {result:?} for {input:?}"
        );
    }
    let drafts = ecom
        .products
        .list_drafts(&shop, crate::page::Page::default())
        .await
        .unwrap();
    assert!(drafts.is_empty(), "nothing was written");
}
