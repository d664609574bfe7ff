//! Cases for [`CartRepo`](crate::cart::CartRepo).

use crate::backend::Backend;
use crate::cart::{CartLine, CartState};
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::money::{Currency, Money};
use futures::future::join_all;

fn line(product: &ProductId, quantity: u32) -> CartLine {
    CartLine {
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
    let adds = join_all((0..10).map(|_| backend.carts.add_line(&customer, &one, 100, now))).await;
    assert!(adds.iter().all(|r| r.is_ok()));
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
        .remove_lines(&CustomerId::generate(), &[p2], now)
        .await
        .unwrap()
        .is_none());
}
