//! Cases for [`CartRepo`](crate::cart::CartRepo).

use crate::backend::Backend;
use crate::cart::{CartLine, CartState};
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::money::{Currency, Money};

fn line(product: &ProductId, quantity: u32) -> CartLine {
    CartLine {
        model_id: None,
        model_name: None,
        product_id: product.clone(),
        shop_id: ShopId::generate(),
        quantity,
        name: "Thing".into(),
        price: Money::new(500, Currency::USD),
    }
}

pub async fn add_adjust_remove(backend: &Backend) {
    let customer = CustomerId::generate();
    let now = backend.clock.now();
    let (p1, p2) = (ProductId::generate(), ProductId::generate());
    assert!(backend.carts.get_active(&customer).await.unwrap().is_none());
    // Concurrent adds create one cart and merge quantities.
    let one = line(&p1, 1);
    let racing = super::interleaved(backend);
    let adds = super::rush(10, |_| {
        let (racing, customer, one) = (racing.clone(), customer.clone(), one.clone());
        async move { racing.carts.add_line(&customer, &one, 100, now).await }
    })
    .await;
    assert!(adds.iter().all(|r| r.is_ok()), "{adds:?}");
    let cart = backend
        .carts
        .add_line(&customer, &line(&p2, 3), 100, now)
        .await
        .unwrap();
    assert_eq!(cart.state, CartState::Active);
    assert_eq!(cart.count_product(), 2);
    let q = |c: &crate::cart::Cart, p: &ProductId| {
        c.lines
            .iter()
            .find(|l| &l.product_id == p)
            .map(|l| l.quantity)
    };
    assert_eq!(q(&cart, &p1), Some(10));
    assert_eq!(q(&cart, &p2), Some(3));
    // Over the bound: refused, unchanged.
    assert!(matches!(
        backend
            .carts
            .add_line(&customer, &line(&p1, 91), 100, now)
            .await,
        Err(Error::Validation { .. })
    ));
    let cart = backend
        .carts
        .adjust_line(&customer, &p1, -4, 100, now)
        .await
        .unwrap();
    assert_eq!(q(&cart, &p1), Some(6));
    for delta in [-6, 95] {
        assert!(matches!(
            backend
                .carts
                .adjust_line(&customer, &p1, delta, 100, now)
                .await,
            Err(Error::Validation { .. })
        ));
    }
    assert!(matches!(
        backend
            .carts
            .adjust_line(&customer, &ProductId::generate(), 1, 100, now)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        backend
            .carts
            .adjust_line(&CustomerId::generate(), &p1, 1, 100, now)
            .await,
        Err(Error::NotFound { .. })
    ));
    let cart = backend
        .carts
        .remove_lines(&customer, &[p1.clone(), ProductId::generate()], now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cart.count_product(), 1);
    assert_eq!(q(&cart, &p2), Some(3));
    let stored = backend.carts.get_active(&customer).await.unwrap().unwrap();
    assert_eq!(stored.id, cart.id);
    assert_eq!(stored.lines, cart.lines);
    assert!(backend
        .carts
        .remove_lines(&CustomerId::generate(), std::slice::from_ref(&p2), now)
        .await
        .unwrap()
        .is_none());
    // Several customers' bought lines at once: each loses only its own products.
    let (ann, bob) = (CustomerId::generate(), CustomerId::generate());
    for (who, product) in [(&ann, &p1), (&ann, &p2), (&bob, &p1), (&bob, &p2)] {
        backend
            .carts
            .add_line(who, &line(product, 1), 100, now)
            .await
            .unwrap();
    }
    backend
        .carts
        .remove_lines_many(
            &[
                (ann.clone(), vec![p1.clone()]),
                (bob.clone(), vec![p2.clone()]),
                (CustomerId::generate(), vec![p1.clone()]),
            ],
            now,
        )
        .await
        .unwrap();
    let left = |who: &CustomerId| {
        let (backend, who) = (backend.clone(), who.clone());
        async move {
            backend
                .carts
                .get_active(&who)
                .await
                .unwrap()
                .unwrap()
                .lines
                .into_iter()
                .map(|l| l.product_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(left(&ann).await, vec![p2.clone()]);
    assert_eq!(left(&bob).await, vec![p1.clone()]);
}

use super::{ecom, published_product, shop};
use crate::service::{CartItem, CartUpdate};

pub async fn cart_service_flow(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let a = published_product(&ecom, &shop, "2.00", 10).await;
    let b = published_product(&ecom, &shop, "3.00", 10).await;
    let customer = CustomerId::generate();
    let item = |p: &crate::product::Product, quantity| CartItem {
        model_id: None,
        product_id: p.id.clone(),
        shop_id: shop.clone(),
        quantity,
    };
    ecom.carts.add(&customer, item(&a, 2)).await.unwrap();
    ecom.carts.add(&customer, item(&a, 1)).await.unwrap();
    let cart = ecom.carts.add(&customer, item(&b, 1)).await.unwrap();
    assert_eq!(cart.count_product(), 2);
    let line = cart.lines.iter().find(|l| l.product_id == a.id).unwrap();
    assert_eq!(
        (line.quantity, line.price.minor, line.name.as_str()),
        (3, 200, a.name.as_str())
    );
    // Drafts, unknown products, the wrong shop and bad quantities are refused.
    let draft = ecom
        .products
        .create(&shop, super::new_product("Draft", "1", 1))
        .await
        .unwrap();
    assert!(matches!(
        ecom.carts.add(&customer, item(&draft, 1)).await,
        Err(Error::NotFound { .. })
    ));
    let mut wrong_shop = item(&a, 1);
    wrong_shop.shop_id = ShopId::generate();
    assert!(matches!(
        ecom.carts.add(&customer, wrong_shop).await,
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        ecom.carts.add(&customer, item(&a, 0)).await,
        Err(Error::Validation { .. })
    ));
    // old_quantity semantics: 3 -> 5 adds 2; quantity 0 removes.
    let update = |p: &crate::product::Product, quantity, old_quantity| CartUpdate {
        model_id: None,
        shop_id: shop.clone(),
        product_id: p.id.clone(),
        quantity,
        old_quantity,
    };
    let cart = ecom
        .carts
        .update(&customer, vec![update(&a, 5, 3)])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cart.lines
            .iter()
            .find(|l| l.product_id == a.id)
            .map(|l| l.quantity),
        Some(5)
    );
    let cart = ecom
        .carts
        .update(&customer, vec![update(&b, 0, 1)])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cart.count_product(), 1);
    assert!(
        ecom.carts
            .update(&customer, vec![update(&a, 1, 9)])
            .await
            .is_err(),
        "would go below 1"
    );
    let cart = ecom
        .carts
        .remove(&customer, &a.id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cart.count_product(), 0);
    assert_eq!(
        ecom.carts
            .get(&customer)
            .await
            .unwrap()
            .map(|c| c.count_product()),
        Some(0)
    );
    assert!(ecom
        .carts
        .get(&CustomerId::generate())
        .await
        .unwrap()
        .is_none());
}

/// Checking out removes the bought lines from the cart and keeps the others.
pub async fn checkout_empties_bought_lines(backend: &Backend) {
    use super::checkout::{ecom_with, place, request};
    let ecom = ecom_with(backend, crate::service::CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let a = published_product(&ecom, &shop, "2.00", 10).await;
    let b = published_product(&ecom, &shop, "3.00", 10).await;
    let customer = CustomerId::generate();
    for p in [&a, &b] {
        let item = CartItem {
            model_id: None,
            product_id: p.id.clone(),
            shop_id: shop.clone(),
            quantity: 1,
        };
        ecom.carts.add(&customer, item).await.unwrap();
    }
    ecom.checkout
        .place_order(&customer, place(request(&shop, &[(&a, 1)], None), None))
        .await
        .unwrap();
    let cart = ecom.carts.get(&customer).await.unwrap().unwrap();
    assert_eq!(
        cart.lines.iter().map(|l| &l.product_id).collect::<Vec<_>>(),
        [&b.id]
    );
}
