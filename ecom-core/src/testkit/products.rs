//! Cases for [`ProductRepo`](crate::product::ProductRepo) and the product service.

use super::{ecom, new_product, published_product, shop};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::{ProductId, ShopId};
use crate::money::{Currency, Money};
use crate::page::Page;
use crate::product::{CatalogueFilter, Product, ProductFilter, ProductQuery, ProductSort};
use crate::service::{NewProduct, ProductPatch};
use crate::variant::Offer;
use serde_json::{json, Map, Value};

fn product(shop: &ShopId, name: &str, minor: i64, published: bool, backend: &Backend) -> Product {
    let now = backend.clock.now();
    Product {
        models: Vec::new(),
        id: ProductId::generate(),
        shop_id: shop.clone(),
        name: name.into(),
        slug: name.to_lowercase(),
        thumb: "t.png".into(),
        description: String::new(),
        price: Money::new(minor, Currency::USD),
        quantity: 1,
        kind: "Clothing".into(),
        attributes: Map::new(),
        rating: 4.5,
        variations: Vec::new(),
        category: None,
        sold: 0,
        in_stock: true,
        low_stock: false,
        low_stock_threshold: 5,
        is_draft: !published,
        is_published: published,
        search_terms: vec![name.to_lowercase()],
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

fn attrs(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

pub async fn insert_get_many_replace(backend: &Backend) {
    let shop = ShopId::generate();
    let a = product(&shop, "alpha", 100, false, backend);
    let b = product(&shop, "beta", 200, true, backend);
    backend.products.insert(&a).await.unwrap();
    backend.products.insert(&b).await.unwrap();
    assert!(matches!(
        backend.products.insert(&a).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(backend.products.get(&a.id).await.unwrap(), Some(a.clone()));
    assert!(backend
        .products
        .get(&ProductId::generate())
        .await
        .unwrap()
        .is_none());
    let mut many = backend
        .products
        .get_many(&[a.id.clone(), ProductId::generate(), b.id.clone()])
        .await
        .unwrap();
    many.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(many, vec![a.clone(), b.clone()]);
    // Compare-and-set on version.
    let mut next = a.clone();
    next.name = "alpha two".into();
    next.version = 1;
    backend.products.replace(&next, 0, &[]).await.unwrap();
    let mut stale = a.clone();
    stale.version = 1;
    assert!(matches!(
        backend.products.replace(&stale, 0, &[]).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(backend.products.get(&a.id).await.unwrap(), Some(next));
    let missing = product(&shop, "gamma", 1, true, backend);
    assert!(matches!(
        backend.products.replace(&missing, 0, &[]).await,
        Err(Error::NotFound { .. })
    ));
}

pub async fn list_filters_sorts_and_pages(backend: &Backend) {
    let shop = ShopId::generate();
    let other = ShopId::generate();
    let mut created = Vec::new();
    for (i, (price, published, owner)) in [
        (300, true, &shop),
        (100, true, &shop),
        (200, true, &other),
        (50, false, &shop),
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = product(owner, &format!("item{i}"), price, published, backend);
        p.created_at += chrono::Duration::seconds(i as i64);
        p.updated_at = p.created_at;
        backend.products.insert(&p).await.unwrap();
        created.push(p);
    }
    let names = |ps: Vec<Product>| ps.into_iter().map(|p| p.name).collect::<Vec<_>>();
    let query = |filter, sort, page| ProductQuery {
        filter,
        sort,
        page,
        after: None,
    };
    let all = Page::numbered(1, 10).unwrap();
    let listed = backend
        .products
        .list(&query(
            ProductFilter::Catalogue(CatalogueFilter::default()),
            ProductSort::Newest,
            all,
        ))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item2", "item1", "item0"]);
    let listed = backend
        .products
        .list(&query(
            ProductFilter::Catalogue(CatalogueFilter::default()),
            ProductSort::PriceAsc,
            all,
        ))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item1", "item2", "item0"]);
    let listed = backend
        .products
        .list(&query(
            ProductFilter::Catalogue(CatalogueFilter::default()),
            ProductSort::PriceDesc,
            all,
        ))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item0", "item2", "item1"]);
    let page2 = Page::numbered(2, 2).unwrap();
    let listed = backend
        .products
        .list(&query(
            ProductFilter::Catalogue(CatalogueFilter::default()),
            ProductSort::PriceAsc,
            page2,
        ))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item0"]);
    let drafts = ProductFilter::Shop {
        shop_id: shop.clone(),
        published: false,
    };
    let listed = backend
        .products
        .list(&query(drafts, ProductSort::RecentlyUpdated, all))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item3"]);
    let published = ProductFilter::Shop {
        shop_id: shop.clone(),
        published: true,
    };
    let listed = backend
        .products
        .list(&query(published, ProductSort::RecentlyUpdated, all))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item1", "item0"]);
    let words = |text: &str| {
        ProductFilter::Catalogue(CatalogueFilter {
            words: crate::search::SearchWords::parse(text).unwrap(),
            ..CatalogueFilter::default()
        })
    };
    let search = words("item2");
    let listed = backend
        .products
        .list(&query(search, ProductSort::Newest, all))
        .await
        .unwrap();
    assert_eq!(names(listed), ["item2"]);
    let unpublished = words("item3");
    let listed = backend
        .products
        .list(&query(unpublished, ProductSort::Newest, all))
        .await
        .unwrap();
    assert!(listed.is_empty(), "drafts are never found by search");
}

pub async fn create_makes_inventory(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let product = ecom
        .products
        .create(&shop, new_product("Blue Shirt", "19.99", 25))
        .await
        .unwrap();
    assert_eq!(product.price, Money::new(1999, Currency::USD));
    assert_eq!(product.slug, "blue-shirt");
    assert!(product.is_draft && !product.is_published);
    assert_eq!(
        product.attributes,
        attrs(json!({"brand": "Suite", "size": "M"}))
    );
    let inventory = backend.inventory.get(&product.id).await.unwrap().unwrap();
    assert_eq!(inventory.stock, 25);
    assert_eq!(inventory.shop_id, shop);
    assert!(inventory.reservations.is_empty());
    let stored = backend.products.get(&product.id).await.unwrap();
    assert_eq!(stored, Some(product));
}

pub async fn bad_product_input_writes_nothing(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let usd = |minor| Money::new(minor, Currency::USD);
    let single = |price, stock| Offer::Single { price, stock };
    let base = NewProduct::new("Thing", "Electronics", usd(1000), 5)
        .with_thumb("t.png")
        .with_attribute("manufacturer", "Acme");
    let with = |change: &dyn Fn(&mut NewProduct)| {
        let mut input = base.clone();
        change(&mut input);
        input
    };
    let cases: Vec<(NewProduct, &str)> = vec![
        (with(&|p| p.name = "  ".into()), "name"),
        (with(&|p| p.thumb = String::new()), "thumb"),
        (with(&|p| p.offer = single(usd(0), 5)), "price"),
        (with(&|p| p.offer = single(usd(-100), 5)), "price"),
        (
            with(&|p| p.offer = single(Money::new(1000, Currency::from_code("EUR").unwrap()), 5)),
            "price",
        ),
        (with(&|p| p.offer = single(usd(i64::MAX), 5)), "price"),
        (with(&|p| p.offer = single(usd(1000), 0)), "stock"),
        (with(&|p| p.offer = single(usd(1000), 2_000_000)), "stock"),
        (with(&|p| p.attributes.clear()), "attributes.manufacturer"),
        (
            with(&|p| {
                p.attributes
                    .insert("manufacturer".into(), json!({"$gt": ""}));
            }),
            "attributes.manufacturer",
        ),
        (
            with(&|p| {
                p.attributes.insert("weight".into(), json!("1kg"));
            }),
            "attributes.weight",
        ),
    ];
    for (input, field) in cases {
        match ecom.products.create(&shop, input).await {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected validation error on {field}, got {other:?}"),
        }
    }
    let unknown = with(&|p| p.kind = "Spaceship".into());
    assert!(matches!(
        ecom.products.create(&shop, unknown).await,
        Err(Error::InvalidProductType(_))
    ));
    let drafts = ecom
        .products
        .list_drafts(&shop, Page::default())
        .await
        .unwrap();
    assert!(drafts.is_empty(), "rejected input wrote a product");
}

pub async fn update_merges_and_revalidates_attributes(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let product = ecom
        .products
        .create(&shop, new_product("Coat", "50", 3))
        .await
        .unwrap();
    let patch = ProductPatch {
        name: Some("Warm Coat".into()),
        price: Some(Money::new(4550, Currency::USD)),
        attributes: Some(attrs(json!({"material": " wool ", "size": null}))),
        ..ProductPatch::default()
    };
    let updated = ecom
        .products
        .update(&shop, &product.id, patch)
        .await
        .unwrap();
    assert_eq!(updated.name, "Warm Coat");
    assert_eq!(updated.slug, "warm-coat");
    assert_eq!(updated.price.minor, 4550);
    assert_eq!(
        updated.attributes,
        attrs(json!({"brand": "Suite", "size": "M", "material": "wool"}))
    );
    assert_eq!(updated.version, product.version + 1);
    assert!(updated.search_terms.contains(&"warm".to_owned()));
    // Merged attributes are re-validated; a rejected patch changes nothing.
    let bad = ProductPatch {
        name: Some("Changed".into()),
        attributes: Some(attrs(json!({"brand": ""}))),
        ..ProductPatch::default()
    };
    assert!(matches!(
        ecom.products.update(&shop, &product.id, bad).await,
        Err(Error::Validation { .. })
    ));
    let bad_price = ProductPatch {
        price: Some(Money::new(0, Currency::USD)),
        ..ProductPatch::default()
    };
    assert!(ecom
        .products
        .update(&shop, &product.id, bad_price)
        .await
        .is_err());
    assert_eq!(
        backend.products.get(&product.id).await.unwrap(),
        Some(updated)
    );
}

pub async fn publish_controls_visibility(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let (other, _) = super::shop(&ecom).await;
    let product = ecom
        .products
        .create(&shop, new_product("Lamp", "12", 1))
        .await
        .unwrap();
    assert!(matches!(
        ecom.products.get(&product.id, None).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ecom.products.get(&product.id, Some(&other)).await,
        Err(Error::NotFound { .. })
    ));
    ecom.products.get(&product.id, Some(&shop)).await.unwrap();
    let published = ecom.products.publish(&shop, &product.id).await.unwrap();
    assert!(published.is_published && !published.is_draft);
    ecom.products.get(&product.id, None).await.unwrap();
    let listed = ecom
        .products
        .list_published_of_shop(&shop, Page::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let unpublished = ecom.products.unpublish(&shop, &product.id).await.unwrap();
    assert!(unpublished.is_draft && !unpublished.is_published);
    assert!(ecom.products.get(&product.id, None).await.is_err());
    assert_eq!(
        ecom.products
            .list_drafts(&shop, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn shops_touch_only_their_own(backend: &Backend) {
    let ecom = ecom(backend);
    let (owner, _) = shop(&ecom).await;
    let (intruder, _) = shop(&ecom).await;
    let product = published_product(&ecom, &owner, "5", 5).await;
    let patch = ProductPatch {
        name: Some("Hijacked".into()),
        ..ProductPatch::default()
    };
    assert!(matches!(
        ecom.products.update(&intruder, &product.id, patch).await,
        Err(Error::NotFound { .. })
    ));
    assert!(ecom
        .products
        .unpublish(&intruder, &product.id)
        .await
        .is_err());
    assert!(matches!(
        ecom.inventory
            .add_stock(&intruder, &product.id, None, 5, None)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(ecom.inventory.get(&intruder, &product.id).await.is_err());
    let stored = backend.products.get(&product.id).await.unwrap().unwrap();
    assert_eq!(stored, product);
    assert_eq!(
        backend
            .inventory
            .get(&product.id)
            .await
            .unwrap()
            .map(|i| i.stock),
        Some(5)
    );
}

pub async fn keyword_search(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, _) = shop(&ecom).await;
    let marker = format!("zq{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut input = new_product(&format!("Red {marker} Jacket"), "30", 2);
    input.description = "Waterproof, for RAINY days".into();
    let jacket = ecom.products.create(&shop, input).await.unwrap();
    ecom.products.publish(&shop, &jacket.id).await.unwrap();
    let mut input = new_product(&format!("{marker} Café crème"), "30", 2);
    input.description = "Frothy".into();
    let cafe = ecom.products.create(&shop, input).await.unwrap();
    ecom.products.publish(&shop, &cafe.id).await.unwrap();
    let draft = ecom
        .products
        .create(
            &shop,
            new_product(&format!("{marker} rainy draft"), "30", 2),
        )
        .await
        .unwrap();
    let page = Page::default();
    let search = |text: String| {
        let ecom = ecom.clone();
        async move {
            let found = ecom.catalogue.search(&text, page).await.unwrap();
            let ids: Vec<ProductId> = found.products.into_iter().map(|p| p.id).collect();
            assert_eq!(
                ids.len() as u64,
                found.total,
                "{text}: one page holds every match"
            );
            ids
        }
    };
    let both_newest_first = vec![cafe.id.clone(), jacket.id.clone()];
    assert_eq!(
        search(marker.to_uppercase()).await,
        both_newest_first,
        "case-insensitive; ties newest first; drafts are not found"
    );
    assert_eq!(
        search(format!("rainy {marker}")).await,
        both_newest_first[..]
            .iter()
            .rev()
            .cloned()
            .collect::<Vec<_>>(),
        "two words matched rank above one"
    );
    assert_eq!(
        search(format!("{marker} CAFE")).await,
        both_newest_first,
        "accents do not matter"
    );
    assert_eq!(
        search(format!("creme {marker} fro")).await,
        both_newest_first,
        "the last word matches as a prefix"
    );
    assert_eq!(
        search(format!("fro {marker}")).await,
        both_newest_first,
        "only the last word matches as a prefix (fro counts for none)"
    );
    assert_eq!(
        search(format!("jack {marker}x")).await,
        Vec::<ProductId>::new()
    );
    assert_eq!(
        search(marker[..9].to_owned()).await,
        both_newest_first,
        "a lone word is a prefix"
    );
    assert!(matches!(
        ecom.catalogue.search(" !! ", page).await,
        Err(Error::Validation { .. })
    ));
    assert_ne!(draft.id, jacket.id);
}
