//! The catalogue: filters, sorts, counts and facets checked against a brute-force evaluation
//! of a generated catalogue; the category tree, storefronts, units sold and the in-stock
//! filter following real orders.

use super::checkout::{ecom_with, place, request};
use super::{ecom, new_product, published_product, seed, shop};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::inventory::Inventory;
use crate::money::{Currency, Money};
use crate::page::Page;
use crate::product::{Product, ProductSort};
use crate::search;
use crate::service::{CatalogueQuery, CheckoutStrategy};
use crate::{Backend, Ecom};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Map;
use std::collections::BTreeMap;

/// Products in the generated catalogue.
const PRODUCTS: usize = 2_000;
const KINDS: [&str; 3] = ["Clothing", "Electronics", "Furniture"];
/// Words names and descriptions are made of (accents and case included).
const WORDS: [&str; 16] = [
    "Red", "blue", "Café", "crème", "cotton", "tee", "teapot", "lamp", "sofa", "phone", "cable",
    "naïve", "Über", "desk", "wool", "Tea",
];

/// 30 category paths: 3 roots, 3 children each, 2 grandchildren under each child
/// (3 + 9 + 18 = 30).
fn category_paths() -> Vec<String> {
    let mut paths = Vec::new();
    for root in ["Fashion", "Home", "Tech"] {
        paths.push(root.to_owned());
        for child in ["A", "B", "AB"] {
            let child = format!("{root}/{child}");
            paths.push(child.clone());
            for leaf in ["x", "y"] {
                paths.push(format!("{child}/{leaf}"));
            }
        }
    }
    paths
}

/// What the generated catalogue holds, beside the store: each product with its free stock.
struct Catalogue {
    products: Vec<(Product, u64)>,
    shops: Vec<ShopId>,
    categories: Vec<String>,
}

/// Inserts [`PRODUCTS`] products (10 shops, 30 categories, 3 kinds, random prices, names,
/// stock and units sold; one in ten a draft, one in twenty without a category) with their
/// stock records.
async fn generate(backend: &Backend, rng: &mut StdRng) -> Catalogue {
    let shops: Vec<ShopId> = (0..10).map(|_| ShopId::generate()).collect();
    let categories = category_paths();
    let start: Timestamp = backend.clock.now();
    let mut products = Vec::with_capacity(PRODUCTS);
    for i in 0..PRODUCTS {
        let words: Vec<&str> = (0..rng.gen_range(1..=3))
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect();
        let name = words.join(" ");
        let description = WORDS[rng.gen_range(0..WORDS.len())].to_owned();
        let published = rng.gen_range(0..10) != 0;
        // Pairs of products share a creation time: ties are broken by id.
        let created_at = start + chrono::Duration::seconds((i / 2) as i64);
        let stock = rng.gen_range(0..4);
        let product = Product {
            models: Vec::new(),
            id: ProductId::generate(),
            shop_id: shops[rng.gen_range(0..shops.len())].clone(),
            slug: name.to_lowercase(),
            search_terms: search::tokens(&format!("{name} {description}")),
            name,
            thumb: "t.png".into(),
            description,
            price: Money::new(rng.gen_range(1..=50_000), Currency::USD),
            quantity: 1,
            kind: KINDS[rng.gen_range(0..KINDS.len())].to_owned(),
            attributes: Map::new(),
            rating: 4.5,
            variations: Vec::new(),
            category: (rng.gen_range(0..20) != 0)
                .then(|| categories[rng.gen_range(0..categories.len())].clone()),
            sold: rng.gen_range(0..6),
            // As the services record it: free stock in its record.
            in_stock: stock > 0,
            low_stock: false,
            low_stock_threshold: 0,
            is_draft: !published,
            is_published: published,
            version: 0,
            created_at,
            updated_at: created_at,
        };
        products.push((product, stock));
    }
    for chunk in products.chunks(100) {
        futures::future::join_all(chunk.iter().map(|(p, stock)| async move {
            backend
                .inventory
                .insert(&Inventory {
                    model_of: None,
                    product_id: p.id.clone(),
                    shop_id: p.shop_id.clone(),
                    location: String::new(),
                    stock: *stock,
                    sold: p.sold,
                    reservations: Vec::new(),
                    retired: false,
                    created_at: p.created_at,
                    updated_at: p.created_at,
                })
                .await
                .expect("insert stock");
            backend.products.insert(p).await.expect("insert product");
        }))
        .await;
    }
    Catalogue {
        products,
        shops,
        categories,
    }
}

/// The brute-force reading of a query: the matches, in the order the query sorts them.
fn brute_force<'a>(catalogue: &'a Catalogue, q: &CatalogueQuery) -> Vec<&'a Product> {
    let words: Vec<String> = q.q.as_deref().map(search::tokens).unwrap_or_default();
    let score = |p: &Product| -> usize {
        let Some((last, whole)) = words.split_last() else {
            return 0;
        };
        let whole = whole
            .iter()
            .filter(|w| *w != last && p.search_terms.contains(w))
            .count();
        whole + usize::from(p.search_terms.iter().any(|t| t.starts_with(last.as_str())))
    };
    let mut matches: Vec<&Product> = catalogue
        .products
        .iter()
        .filter(|(p, stock)| {
            p.is_published
                && q.category.as_ref().is_none_or(|c| {
                    p.category
                        .as_ref()
                        .is_some_and(|own| own == c || own.starts_with(&format!("{c}/")))
                })
                && q.shop.as_ref().is_none_or(|s| &p.shop_id == s)
                && q.kind.as_ref().is_none_or(|k| &p.kind == k)
                && q.min_price.is_none_or(|m| p.price.minor >= m.minor)
                && q.max_price.is_none_or(|m| p.price.minor <= m.minor)
                && (words.is_empty() || score(p) > 0)
                && (!q.in_stock || *stock > 0)
        })
        .map(|(p, _)| p)
        .collect();
    matches.sort_by(|a, b| {
        let newest = b.created_at.cmp(&a.created_at);
        match q.sort {
            ProductSort::Newest | ProductSort::RecentlyUpdated => newest,
            ProductSort::PriceAsc => a.price.minor.cmp(&b.price.minor),
            ProductSort::PriceDesc => b.price.minor.cmp(&a.price.minor),
            ProductSort::BestSelling => b.sold.cmp(&a.sold),
            ProductSort::Relevance => score(b).cmp(&score(a)).then(newest),
        }
        .then_with(|| b.id.cmp(&a.id))
    });
    matches
}

/// The filters present in `mask` (bit 0 category, 1 shop, 2 kind, 3 min price, 4 max price,
/// 5 words, 6 in stock: 128 combinations), with random values, and a random sort.
fn query_of(mask: u32, catalogue: &Catalogue, rng: &mut StdRng) -> CatalogueQuery {
    let on = |bit: u32| mask & (1 << bit) != 0;
    let usd = |minor| Money::new(minor, Currency::USD);
    let mut q = CatalogueQuery::default();
    if on(0) {
        q.category =
            Some(catalogue.categories[rng.gen_range(0..catalogue.categories.len())].clone());
    }
    if on(1) {
        q.shop = Some(catalogue.shops[rng.gen_range(0..catalogue.shops.len())].clone());
    }
    if on(2) {
        q.kind = Some(KINDS[rng.gen_range(0..KINDS.len())].to_owned());
    }
    if on(3) {
        q.min_price = Some(usd(rng.gen_range(0..30_000)));
    }
    if on(4) {
        let floor = q.min_price.map_or(0, |m| m.minor);
        q.max_price = Some(usd(rng.gen_range(floor..=50_000)));
    }
    if on(5) {
        let mut text: Vec<String> = (0..rng.gen_range(1..=3))
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())].to_uppercase())
            .collect();
        if rng.gen_bool(0.5) {
            // The last word cut short: a prefix.
            let last = text.pop().unwrap_or_default();
            text.push(last.chars().take(rng.gen_range(1..=3)).collect());
        }
        q.q = Some(text.join(" "));
    }
    q.in_stock = on(6);
    q.sort = [
        ProductSort::Newest,
        ProductSort::PriceAsc,
        ProductSort::PriceDesc,
        ProductSort::BestSelling,
        ProductSort::Relevance,
    ][rng.gen_range(0..5)];
    q
}

/// Every combination of filters: each case tries all of them once.
const COMBINATIONS: u32 = 1 << 7;

fn ids<'a>(products: impl IntoIterator<Item = &'a Product>) -> Vec<&'a ProductId> {
    products.into_iter().map(|p| &p.id).collect()
}

pub async fn filters_and_sorts_match_brute_force(backend: &Backend) {
    let mut rng = StdRng::seed_from_u64(seed());
    let catalogue = generate(backend, &mut rng).await;
    let ecom = ecom(backend);
    for round in 0..COMBINATIONS {
        let mut query = query_of(round, &catalogue, &mut rng);
        let expected = brute_force(&catalogue, &query);
        // The first page, and a random later one.
        let pages = expected.len().div_ceil(100).max(1) as u64;
        for page in [1, rng.gen_range(1..=pages)] {
            query.page = Page::numbered(page, 100).unwrap();
            let listing = ecom.catalogue.browse(&query).await.unwrap();
            assert_eq!(
                listing.total,
                expected.len() as u64,
                "round {round}: total of {query:?}"
            );
            let from = ((page - 1) * 100) as usize;
            let want = ids(expected.iter().skip(from).take(100).copied());
            assert_eq!(
                ids(&listing.products),
                want,
                "round {round}: page {page} of {query:?}"
            );
            for p in &listing.products {
                let stored = catalogue.products.iter().find(|(c, _)| c.id == p.id);
                assert_eq!(
                    Some(p.sold),
                    stored.map(|(c, _)| c.sold),
                    "units sold shown"
                );
            }
        }
    }
}

pub async fn facets_and_categories_match_brute_force(backend: &Backend) {
    let mut rng = StdRng::seed_from_u64(seed() ^ 0xfac7);
    let catalogue = generate(backend, &mut rng).await;
    let ecom = ecom(backend);
    for round in 0..COMBINATIONS {
        let query = query_of(round, &catalogue, &mut rng);
        let matches = brute_force(&catalogue, &query);
        let facets = ecom.catalogue.facets(&query).await.unwrap();
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut shops: BTreeMap<ShopId, u64> = BTreeMap::new();
        for p in &matches {
            if let Some(path) = &p.category {
                let levels: Vec<&str> = path.split('/').collect();
                for n in 1..=levels.len() {
                    *categories.entry(levels[..n].join("/")).or_default() += 1;
                }
            }
            *kinds.entry(p.kind.clone()).or_default() += 1;
            *shops.entry(p.shop_id.clone()).or_default() += 1;
        }
        let context = format!("round {round}: {query:?}");
        assert_eq!(facets.total, matches.len() as u64, "{context}");
        assert_eq!(
            facets.categories,
            categories.into_iter().collect::<Vec<_>>(),
            "{context}"
        );
        assert_eq!(
            facets.kinds,
            kinds.into_iter().collect::<Vec<_>>(),
            "{context}"
        );
        assert_eq!(
            facets.shops,
            shops.into_iter().collect::<Vec<_>>(),
            "{context}"
        );
        let lo = matches.iter().map(|p| p.price.minor).min();
        let hi = matches.iter().map(|p| p.price.minor).max();
        assert_eq!(
            facets.price.map(|(l, h)| (l.minor, h.minor)),
            lo.zip(hi),
            "{context}"
        );
        if round == 0 {
            // The tree holds the same counts, nested by path.
            let tree = ecom.catalogue.categories().await.unwrap();
            let mut seen = 0;
            let mut stack: Vec<&crate::category::CategoryNode> = tree.iter().collect();
            while let Some(node) = stack.pop() {
                let count = facets.categories.iter().find(|(p, _)| p == &node.path);
                assert_eq!(count.map(|(_, n)| *n), Some(node.count), "{}", node.path);
                for child in &node.children {
                    assert_eq!(child.path, format!("{}/{}", node.path, child.name));
                    stack.push(child);
                }
                seen += 1;
            }
            assert_eq!(
                seen,
                facets.categories.len(),
                "every category is in the tree once"
            );
            assert_eq!(
                tree.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
                ["Fashion", "Home", "Tech"]
            );
        }
    }
}

pub async fn storefront_counts_published_products(backend: &Backend) {
    let ecom = ecom(backend);
    let (shop, session) = shop(&ecom).await;
    for (name, category) in [
        ("Linen shirt", "Fashion/Men"),
        ("Silk scarf", "Fashion/Women"),
    ] {
        let p = ecom
            .products
            .create(&shop, new_product(name, "12.50", 3).with_category(category))
            .await
            .unwrap();
        ecom.products.publish(&shop, &p.id).await.unwrap();
    }
    let draft = ecom
        .products
        .create(
            &shop,
            new_product("Draft hat", "5", 1).with_category("Fashion/Hats"),
        )
        .await
        .unwrap();
    let front = ecom.catalogue.storefront(&shop).await.unwrap();
    assert_eq!(front.product_count, 2, "drafts are not counted");
    assert_eq!(front.name, session.account.name);
    assert!(matches!(
        ecom.catalogue.storefront(&ShopId::generate()).await,
        Err(Error::NotFound { .. })
    ));
    let tree = ecom.catalogue.categories().await.unwrap();
    let fashion = tree.iter().find(|n| n.path == "Fashion").expect("Fashion");
    assert_eq!(fashion.count, 2);
    let children: Vec<&str> = fashion.children.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(children, ["Men", "Women"], "no category of drafts only");
    // Moving the draft's category and publishing it shows it.
    let patch = crate::service::ProductPatch {
        category: Some(" Fashion / Hats ".into()),
        ..Default::default()
    };
    let moved = ecom.products.update(&shop, &draft.id, patch).await.unwrap();
    assert_eq!(moved.category.as_deref(), Some("Fashion/Hats"));
    ecom.products.publish(&shop, &draft.id).await.unwrap();
    assert_eq!(
        ecom.catalogue
            .storefront(&shop)
            .await
            .unwrap()
            .product_count,
        3
    );
    // Bad paths change nothing.
    for bad in ["", "a//b", "a/b/c/d/e", &"x".repeat(51)] {
        let patch = crate::service::ProductPatch {
            category: Some(bad.to_owned()),
            ..Default::default()
        };
        let err = ecom
            .products
            .update(&shop, &draft.id, patch)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Validation { field, .. } if field == "category"),
            "{bad:?}: {err:?}"
        );
    }
    let stored = backend.products.get(&draft.id).await.unwrap().unwrap();
    assert_eq!(stored.category.as_deref(), Some("Fashion/Hats"));
}

pub async fn units_sold_and_stock_follow_orders(backend: &Backend) {
    let ecom: Ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let tee = published_product(&ecom, &shop, "10", 10).await;
    let mug = published_product(&ecom, &shop, "10", 2).await;
    let customer = CustomerId::generate();
    let buy = |items: Vec<(&Product, u32)>| {
        let (ecom, customer, shop) = (ecom.clone(), customer.clone(), shop.clone());
        let request = request(&shop, &items, None);
        async move {
            ecom.checkout
                .place_order(&customer, place(request, None))
                .await
                .unwrap()
        }
    };
    let first = buy(vec![(&tee, 3)]).await;
    buy(vec![(&mug, 2)]).await;
    ecom.checkout.flush().await;
    let shop_query = CatalogueQuery {
        shop: Some(shop.clone()),
        sort: ProductSort::BestSelling,
        ..CatalogueQuery::default()
    };
    let listing = ecom.catalogue.browse(&shop_query).await.unwrap();
    let sold: Vec<(&ProductId, u64)> = listing.products.iter().map(|p| (&p.id, p.sold)).collect();
    assert_eq!(
        sold,
        [(&tee.id, 3), (&mug.id, 2)],
        "best selling first, exact units"
    );
    assert_eq!(ecom.products.get(&mug.id, None).await.unwrap().sold, 2);
    // The mug is sold out: the in-stock filter leaves it out.
    let in_stock = CatalogueQuery {
        in_stock: true,
        ..shop_query.clone()
    };
    let listing = ecom.catalogue.browse(&in_stock).await.unwrap();
    assert_eq!(ids(&listing.products), [&tee.id]);
    assert_eq!(listing.total, 1);
    // Cancelling gives the units back: sold falls, and the best-selling order follows.
    ecom.orders.cancel(&customer, &first.id).await.unwrap();
    let listing = ecom.catalogue.browse(&shop_query).await.unwrap();
    let sold: Vec<(&ProductId, u64)> = listing.products.iter().map(|p| (&p.id, p.sold)).collect();
    assert_eq!(sold, [(&mug.id, 2), (&tee.id, 0)]);
    let stored = backend.products.get(&tee.id).await.unwrap().unwrap();
    assert_eq!(
        stored.sold, 0,
        "the stored copy was refreshed by the cancel"
    );
}

pub async fn bad_catalogue_queries_are_refused(backend: &Backend) {
    let ecom = ecom(backend);
    let usd = |minor| Some(Money::new(minor, Currency::USD));
    let cases = [
        (
            CatalogueQuery {
                min_price: usd(500),
                max_price: usd(100),
                ..CatalogueQuery::default()
            },
            "min_price",
        ),
        (
            CatalogueQuery {
                min_price: usd(-1),
                ..CatalogueQuery::default()
            },
            "min_price",
        ),
        (
            CatalogueQuery {
                max_price: Some(Money::new(1, Currency::from_code("EUR").unwrap())),
                ..CatalogueQuery::default()
            },
            "max_price",
        ),
        (
            CatalogueQuery {
                kind: Some("Spaceship".into()),
                ..CatalogueQuery::default()
            },
            "type",
        ),
        (
            CatalogueQuery {
                category: Some("a//b".into()),
                ..CatalogueQuery::default()
            },
            "category",
        ),
        (
            CatalogueQuery {
                q: Some("a b c d e f g h i j k".into()),
                ..CatalogueQuery::default()
            },
            "q",
        ),
    ];
    for (query, field) in cases {
        let err = ecom.catalogue.browse(&query).await.unwrap_err();
        assert!(
            matches!(&err, Error::Validation { field: f, .. } if f == field),
            "{query:?}: {err:?}"
        );
        let err = ecom.catalogue.facets(&query).await.unwrap_err();
        assert!(matches!(&err, Error::Validation { field: f, .. } if f == field));
    }
    // A query of no words is no filter at all.
    let all = CatalogueQuery {
        q: Some(" -- ".into()),
        ..CatalogueQuery::default()
    };
    assert!(ecom.catalogue.browse(&all).await.is_ok());
}

pub async fn cached_answers_follow_product_writes(backend: &Backend) {
    let mut config = ecom(backend).config().clone();
    config.catalogue_cache = std::time::Duration::from_millis(300);
    let ecom = Ecom::new(backend.clone(), config);
    let (shop, _) = shop(&ecom).await;
    let mine = CatalogueQuery {
        shop: Some(shop.clone()),
        sort: ProductSort::BestSelling,
        ..CatalogueQuery::default()
    };
    assert_eq!(ecom.catalogue.browse(&mine).await.unwrap().total, 0);
    // A product write through this process shows at once.
    let tee = published_product(&ecom, &shop, "10", 5).await;
    let listing = ecom.catalogue.browse(&mine).await.unwrap();
    assert_eq!(ids(&listing.products), [&tee.id]);
    let facets = ecom.catalogue.facets(&mine).await.unwrap();
    assert_eq!(facets.total, 1);
    // A sale shows within the period: first the remembered answer, then the new one.
    let customer = CustomerId::generate();
    ecom.checkout
        .place_order(&customer, place(request(&shop, &[(&tee, 2)], None), None))
        .await
        .unwrap();
    ecom.checkout.flush().await;
    let remembered = ecom.catalogue.browse(&mine).await.unwrap();
    assert_eq!(remembered.products[0].sold, 0, "served from memory");
    assert_eq!(
        ecom.products.get(&tee.id, None).await.unwrap().sold,
        2,
        "reads of one product are never cached"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let fresh = ecom.catalogue.browse(&mine).await.unwrap();
    assert_eq!(fresh.products[0].sold, 2, "the period ended");
    // Concurrent misses of one listing share one store query.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let probe = super::probe::Probe::new();
    let mut config = ecom.config().clone();
    config.catalogue_cache = std::time::Duration::from_secs(60);
    let probed = Ecom::new(probe.wrap(backend), config);
    let results = super::rush(16, |_| {
        let (probed, mine) = (probed.clone(), mine.clone());
        async move { probed.catalogue.browse(&mine).await }
    })
    .await;
    assert!(results
        .iter()
        .all(|r| r.as_ref().is_ok_and(|l| l.total == 1)));
    let lists = probe
        .calls()
        .iter()
        .filter(|c| c.name == "products.list")
        .count();
    assert_eq!(lists, 1, "16 concurrent requests, one query");
}
