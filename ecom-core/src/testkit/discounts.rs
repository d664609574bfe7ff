//! Cases for [`DiscountRepo`](crate::discount::DiscountRepo).

use crate::backend::Backend;
use crate::discount::{AppliesTo, Discount, DiscountValue, Redemption};
use crate::error::Error;
use crate::id::{CustomerId, DiscountId, OrderId, ShopId};
use crate::money::{Currency, Money};
use crate::page::Page;

/// A 10% discount of `shop` with `code`.
pub fn discount(
    backend: &Backend,
    shop: &ShopId,
    code: &str,
    max_uses: u32,
    per_user: u32,
) -> Discount {
    let now = backend.clock.now();
    Discount {
        id: DiscountId::generate(),
        shop_id: shop.clone(),
        code: code.into(),
        name: "Ten off".into(),
        description: "10% off".into(),
        value: DiscountValue::Percentage(1000),
        starts_at: now - chrono::Duration::days(1),
        ends_at: now + chrono::Duration::days(1),
        max_uses,
        max_uses_per_customer: per_user,
        min_order_value: Money::zero(Currency::USD),
        is_active: true,
        applies_to: AppliesTo::All,
        uses: 0,
        open: Vec::new(),
        created_at: now,
        updated_at: now,
    }
}

/// A checkout's use of a code by `customer` (its id is its order's).
pub fn redemption(backend: &Backend, customer: &CustomerId) -> Redemption {
    let order_id = OrderId::generate();
    Redemption {
        id: order_id.to_string(),
        order_id,
        customer_id: customer.clone(),
        at: backend.clock.now(),
    }
}

pub async fn insert_find_list_delete(backend: &Backend) {
    let shop = ShopId::generate();
    let a = discount(backend, &shop, "SAVE10", 10, 1);
    backend.discounts.insert(&a).await.unwrap();
    let dup = discount(backend, &shop, "SAVE10", 5, 1);
    assert!(matches!(
        backend.discounts.insert(&dup).await,
        Err(Error::AlreadyExists { .. })
    ));
    // Another shop may use the same code.
    let other_shop = ShopId::generate();
    backend
        .discounts
        .insert(&discount(backend, &other_shop, "SAVE10", 1, 1))
        .await
        .unwrap();
    let b = discount(backend, &shop, "SAVE20", 10, 1);
    backend.discounts.insert(&b).await.unwrap();
    assert_eq!(backend.discounts.get(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        backend
            .discounts
            .find_active_by_code(&shop, "SAVE10")
            .await
            .unwrap()
            .map(|d| d.id),
        Some(a.id.clone())
    );
    let listed = backend
        .discounts
        .list_active(&shop, Page::default())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        ["SAVE20", "SAVE10"]
    );
    let first = backend
        .discounts
        .list_active(&shop, Page::offset(1, 1).unwrap())
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(backend.discounts.delete(&shop, "SAVE10").await.unwrap());
    assert!(!backend.discounts.delete(&shop, "SAVE10").await.unwrap());
    assert!(backend
        .discounts
        .find_active_by_code(&shop, "SAVE10")
        .await
        .unwrap()
        .is_none());
    // The code is free again once deleted.
    backend.discounts.insert(&dup).await.unwrap();
}

/// max_uses 10, max_uses_per_customer 1, 200 concurrent redemptions by 50 customers.
pub async fn redeem_limits_hold_under_concurrency(backend: &Backend) {
    let shop = ShopId::generate();
    let d = discount(backend, &shop, "RUSH", 10, 1);
    backend.discounts.insert(&d).await.unwrap();
    let customers: Vec<CustomerId> = (0..50).map(|_| CustomerId::generate()).collect();
    let uses: Vec<Redemption> = (0..200)
        .map(|i| redemption(backend, &customers[i % 50]))
        .collect();
    let racing = super::interleaved(backend);
    let results = super::rush(200, |i| {
        let (racing, id, r) = (racing.clone(), d.id.clone(), uses[i].clone());
        async move { racing.discounts.redeem(&id, &r).await }
    })
    .await;
    super::assert_race(
        &results,
        10,
        |e| matches!(e, Error::DiscountNotApplicable(_)),
        "redemptions of a 10-use code",
    );
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.uses_count(), 10);
    assert_eq!(stored.open.len(), 10);
    for c in &customers {
        assert!(backend.discounts.uses_by(&d.id, c).await.unwrap() <= 1);
    }
    // Idempotent by use id.
    let again = stored.open[0].clone();
    backend.discounts.redeem(&d.id, &again).await.unwrap();
    assert_eq!(
        backend
            .discounts
            .get(&d.id)
            .await
            .unwrap()
            .unwrap()
            .uses_count(),
        10
    );
    assert!(matches!(
        backend
            .discounts
            .redeem(&DiscountId::generate(), &again)
            .await,
        Err(Error::NotFound { .. })
    ));
}

/// Uses move like stock: open -> settled (kept) or released (given back); a settled use
/// reopens as a return and is then released. Each move happens once, whoever calls.
/// A use opens only at an instant inside the code's window: a checkout that reviewed the code
/// just before it ended cannot redeem it after.
pub async fn redeem_only_inside_the_window(backend: &Backend) {
    let shop = ShopId::generate();
    let d = discount(backend, &shop, "WINDOW", 10, 10);
    backend.discounts.insert(&d).await.unwrap();
    let customer = CustomerId::generate();
    let at = |when| {
        let mut use_ = redemption(backend, &customer);
        use_.at = when;
        use_
    };
    for outside in [
        d.ends_at,
        d.ends_at + chrono::Duration::seconds(1),
        d.starts_at - chrono::Duration::nanoseconds(1000),
    ] {
        assert!(
            matches!(
                backend.discounts.redeem(&d.id, &at(outside)).await,
                Err(Error::DiscountNotApplicable(m)) if m.contains("not valid at this time")
            ),
            "redeemed at {outside}"
        );
    }
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!((stored.uses_count(), stored.open.len()), (0, 0));
    assert_eq!(
        backend.discounts.uses_by(&d.id, &customer).await.unwrap(),
        0
    );
    for inside in [d.starts_at, d.ends_at - chrono::Duration::seconds(1)] {
        backend.discounts.redeem(&d.id, &at(inside)).await.unwrap();
    }
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!(stored.uses_count(), 2);
}

pub async fn uses_open_settle_and_return(backend: &Backend) {
    let shop = ShopId::generate();
    let d = discount(backend, &shop, "ONCE", 1, 1);
    backend.discounts.insert(&d).await.unwrap();
    let (alice, bob) = (CustomerId::generate(), CustomerId::generate());
    let first = redemption(backend, &alice);
    backend.discounts.redeem(&d.id, &first).await.unwrap();
    assert!(matches!(
        backend
            .discounts
            .redeem(&d.id, &redemption(backend, &bob))
            .await,
        Err(Error::DiscountNotApplicable(_))
    ));
    // Released by many at once: once.
    let racing = super::interleaved(backend);
    let undone = super::rush(10, |_| {
        let (racing, id, first) = (racing.clone(), d.id.clone(), first.clone());
        async move { racing.discounts.release(&id, &first).await }
    })
    .await;
    assert_eq!(undone.iter().filter(|r| matches!(r, Ok(true))).count(), 1);
    assert!(undone.iter().all(|r| r.is_ok()), "{undone:?}");
    assert_eq!(backend.discounts.uses_by(&d.id, &alice).await.unwrap(), 0);
    // Bob's use, settled: kept, closed, counted for him.
    let bobs = redemption(backend, &bob);
    backend.discounts.redeem(&d.id, &bobs).await.unwrap();
    assert!(backend.discounts.settle(&d.id, &bobs).await.unwrap());
    assert!(!backend.discounts.settle(&d.id, &bobs).await.unwrap());
    assert!(
        !backend.discounts.release(&d.id, &bobs).await.unwrap(),
        "a settled use is not open"
    );
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!((stored.uses_count(), stored.open.len()), (1, 0));
    assert_eq!(backend.discounts.uses_by(&d.id, &bob).await.unwrap(), 1);
    assert_eq!(
        backend.discounts.orders_using(&d.id, &bob).await.unwrap(),
        vec![bobs.order_id.clone()]
    );
    // A return: reopen under a token (twice is once), then release: the use is free again.
    let ret = Redemption {
        id: "return-token".into(),
        ..bobs.clone()
    };
    backend.discounts.unsettle(&d.id, &ret).await.unwrap();
    backend.discounts.unsettle(&d.id, &ret).await.unwrap();
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!((stored.uses_count(), stored.open.len()), (1, 1));
    assert!(backend.discounts.release(&d.id, &ret).await.unwrap());
    assert!(!backend.discounts.release(&d.id, &ret).await.unwrap());
    let stored = backend.discounts.get(&d.id).await.unwrap().unwrap();
    assert_eq!((stored.uses_count(), stored.open.len()), (0, 0));
    assert_eq!(backend.discounts.uses_by(&d.id, &bob).await.unwrap(), 0);
    // Stale open uses are listed.
    let late = redemption(backend, &alice);
    backend.discounts.redeem(&d.id, &late).await.unwrap();
    let later = backend.clock.now() + chrono::Duration::minutes(1);
    let stale = backend.discounts.list_stale(later, 100).await.unwrap();
    assert!(stale.iter().any(|(id, u)| id == &d.id && u.id == late.id));
    assert!(backend
        .discounts
        .list_stale(late.at - chrono::Duration::minutes(1), 100)
        .await
        .unwrap()
        .iter()
        .all(|(_, u)| u.id != late.id));
    assert!(!backend
        .discounts
        .release(&DiscountId::generate(), &late)
        .await
        .unwrap());
}

use super::{ecom, published_product, shop};
use crate::product::Product;
use crate::service::{Ecom, ItemRequest, NewDiscount};

/// The services, a shop with two products (10.00 and 30.00), another shop with one (5.00), and
/// the input of the code `FIVE`: 5.00 off the first shop's two products, from 20.00 on, twice
/// per customer, a week long.
struct ServiceFixture {
    ecom: Ecom,
    shop: ShopId,
    other_shop: ShopId,
    a: Product,
    b: Product,
    foreign: Product,
    now: crate::clock::Timestamp,
    base: NewDiscount,
}

async fn service_fixture(backend: &Backend) -> ServiceFixture {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let (other_shop, _) = super::shop(&ecom).await;
    let a = published_product(&ecom, &shop, "10.00", 10).await;
    let b = published_product(&ecom, &shop, "30.00", 10).await;
    let foreign = published_product(&ecom, &other_shop, "5.00", 10).await;
    let now = backend.clock.now();
    let usd = |minor| Money::new(minor, Currency::USD);
    let base = NewDiscount::new(
        "FIVE",
        DiscountValue::Fixed(usd(500)),
        now - chrono::Duration::hours(1),
        now + chrono::Duration::days(7),
        100,
    )
    .with_name("Five off")
    .with_max_uses_per_customer(2)
    .with_min_order_value(usd(2000))
    .for_products([a.id.clone(), b.id.clone()]);
    ServiceFixture {
        ecom,
        shop,
        other_shop,
        a,
        b,
        foreign,
        now,
        base,
    }
}

/// Bad input to the discount service is refused, naming the field, and writes nothing.
pub async fn discount_service_refuses_bad_input(backend: &Backend) {
    let ServiceFixture {
        ecom,
        shop,
        foreign,
        now,
        base,
        ..
    } = service_fixture(backend).await;
    let usd = |minor| Money::new(minor, Currency::USD);
    let with = |change: &dyn Fn(&mut NewDiscount)| {
        let mut input = base.clone();
        change(&mut input);
        input
    };
    let bad: Vec<(NewDiscount, &str)> = vec![
        (with(&|d| d.code = "has space".into()), "code"),
        (with(&|d| d.name = " ".into()), "name"),
        (with(&|d| d.value = DiscountValue::Fixed(usd(0))), "value"),
        (
            with(&|d| {
                d.value = DiscountValue::Fixed(Money::new(5, Currency::from_code("JPY").unwrap()))
            }),
            "value",
        ),
        (
            with(&|d| d.value = DiscountValue::Percentage(10_050)),
            "value",
        ),
        (with(&|d| d.value = DiscountValue::Percentage(0)), "value"),
        (
            with(&|d| d.ends_at = now - chrono::Duration::days(2)),
            "ends_at",
        ),
        (with(&|d| d.max_uses = 0), "max_uses"),
        (
            with(&|d| d.max_uses_per_customer = 101),
            "max_uses_per_customer",
        ),
        (
            with(&|d| d.min_order_value = Some(usd(-1))),
            "min_order_value",
        ),
        (
            with(&|d| d.applies_to = AppliesTo::SpecificProducts(vec![])),
            "applies_to",
        ),
        (
            with(&|d| d.applies_to = AppliesTo::SpecificProducts(vec![foreign.id.clone()])),
            "applies_to",
        ),
    ];
    for (input, field) in bad {
        match ecom.discounts.create(&shop, input).await {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a validation error on {field}, got {other:?}"),
        }
    }
    assert!(
        ecom.discounts
            .list(&shop, Page::default())
            .await
            .unwrap()
            .is_empty(),
        "nothing written"
    );
}

/// A code is created once per shop; quotes use server prices and count only the listed
/// products; a use that belongs to no placed order is given back; only the owner deletes.
pub async fn discount_service_flow(backend: &Backend) {
    let ServiceFixture {
        ecom,
        shop,
        other_shop,
        a,
        b,
        base,
        ..
    } = service_fixture(backend).await;
    let created = ecom.discounts.create(&shop, base.clone()).await.unwrap();
    assert_eq!(
        created.value,
        DiscountValue::Fixed(Money::new(500, Currency::USD))
    );
    assert!(matches!(
        ecom.discounts.create(&shop, base.clone()).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        ecom.discounts
            .list(&shop, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let products = ecom
        .discounts
        .products_for_code(&shop, "FIVE", Page::default())
        .await
        .unwrap();
    assert_eq!(products.len(), 2);
    // Quotes use server prices and count only the listed products.
    let customer = CustomerId::generate();
    let item = |p: &crate::product::Product, quantity| ItemRequest {
        model_id: None,
        product_id: p.id.clone(),
        quantity,
    };
    let quote = ecom
        .discounts
        .quote(&customer, &shop, "FIVE", &[item(&a, 1), item(&b, 1)])
        .await
        .unwrap();
    assert_eq!(
        (
            quote.total_order.minor,
            quote.discount.minor,
            quote.total_price.minor
        ),
        (4000, 500, 3500)
    );
    assert!(
        matches!(
            ecom.discounts
                .quote(&customer, &shop, "FIVE", &[item(&a, 1)])
                .await,
            Err(Error::DiscountNotApplicable(_))
        ),
        "below the minimum order value"
    );
    assert!(matches!(
        ecom.discounts
            .quote(&customer, &shop, "NOPE", &[item(&a, 1)])
            .await,
        Err(Error::NotFound { .. })
    ));
    // A use that belongs to no placed order (a checkout that never finished) is given back.
    let used = redemption(backend, &customer);
    backend.discounts.redeem(&created.id, &used).await.unwrap();
    let after = ecom
        .discounts
        .cancel_use(&customer, &shop, "FIVE")
        .await
        .unwrap();
    assert_eq!(after.uses_count(), 0);
    assert!(
        backend.orders.get(&used.order_id).await.unwrap().is_none(),
        "its order can never be placed now"
    );
    assert!(matches!(
        ecom.discounts.cancel_use(&customer, &shop, "FIVE").await,
        Err(Error::NotFound { .. })
    ));
    // Only the owner deletes.
    assert!(matches!(
        ecom.discounts.delete(&other_shop, "FIVE").await,
        Err(Error::NotFound { .. })
    ));
    ecom.discounts.delete(&shop, "FIVE").await.unwrap();
    assert!(ecom
        .discounts
        .list(&shop, Page::default())
        .await
        .unwrap()
        .is_empty());
}
