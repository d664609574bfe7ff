//! The catalogue: filters, sorts, counts and facets checked against a brute-force evaluation
//! of a generated catalogue; the category tree, storefronts, units sold and the in-stock
//! filter following real orders.

use super::checkout::{ecom_with, place, request};
use super::{ecom, new_product, published_product, seed, shop};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::id::{CustomerId, ProductId, ShopId};
use crate::inventory::{Inventory, StockState};
use crate::money::{Currency, Money};
use crate::page::Page;
use crate::product::{Product, ProductSort, StockRecord};
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
        // Pairs of products share a creation time: ties are broken by id. All in the past, as
        // a catalogue written before the services start.
        let created_at = start - chrono::Duration::seconds(PRODUCTS as i64)
            + chrono::Duration::seconds((i / 2) as i64);
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
                    damaged: 0,
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

/// The suite's services with the catalogue's read model on or off.
fn ecom_indexed(backend: &Backend, index: bool) -> Ecom {
    let mut config = ecom(backend).config().clone();
    config.catalogue_index = index;
    Ecom::new(backend.clone(), config)
}

pub async fn filters_and_sorts_match_brute_force(backend: &Backend) {
    filters_and_sorts(backend, true).await;
}

/// [`filters_and_sorts_match_brute_force`] with every answer a store query.
pub async fn filters_and_sorts_match_brute_force_on_the_store(backend: &Backend) {
    filters_and_sorts(backend, false).await;
}

async fn filters_and_sorts(backend: &Backend, index: bool) {
    let mut rng = StdRng::seed_from_u64(seed());
    let catalogue = generate(backend, &mut rng).await;
    let ecom = ecom_indexed(backend, index);
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
        // The first pages again by cursor, each starting after the last one's `next`: the
        // same products in the same order, and no cursor after the last page.
        query.page = Page::numbered(1, rng.gen_range(1..=60)).unwrap();
        let limit = query.page.limit as usize;
        query.after = None;
        let mut walked: Vec<ProductId> = Vec::new();
        for step in 0..4 {
            let listing = ecom.catalogue.browse(&query).await.unwrap();
            assert_eq!(listing.total, expected.len() as u64, "round {round}: total");
            walked.extend(listing.products.iter().map(|p| p.id.clone()));
            let want = ids(expected.iter().take(walked.len()).copied());
            assert_eq!(
                walked.iter().collect::<Vec<_>>(),
                want,
                "round {round}: step {step} of {query:?}"
            );
            assert_eq!(
                listing.next.is_some(),
                listing.products.len() == limit,
                "round {round}: a cursor after every full page only"
            );
            match listing.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        assert_eq!(
            walked.len(),
            expected.len().min(limit * 4),
            "round {round}: pages by cursor hold every match"
        );
    }
}

pub async fn facets_and_categories_match_brute_force(backend: &Backend) {
    facets_and_categories(backend, true).await;
}

/// [`facets_and_categories_match_brute_force`] with every answer a store query.
pub async fn facets_and_categories_match_brute_force_on_the_store(backend: &Backend) {
    facets_and_categories(backend, false).await;
}

async fn facets_and_categories(backend: &Backend, index: bool) {
    let mut rng = StdRng::seed_from_u64(seed() ^ 0xfac7);
    let catalogue = generate(backend, &mut rng).await;
    let ecom = ecom_indexed(backend, index);
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

/// Overwrites the copy of `product`'s stock on the stored product (units sold, in stock) with
/// `sold` and `in_stock`, as a crash between a settlement and its refresh could leave it.
pub async fn overwrite_stock_copy(
    backend: &Backend,
    product: &ProductId,
    sold: u64,
    in_stock: bool,
) {
    let stored = backend.products.get(product).await.unwrap().unwrap();
    let wrong = StockRecord {
        product_id: stored.id.clone(),
        state: StockState {
            sold,
            in_stock,
            free: 0,
        },
        low_stock: stored.low_stock,
        was: (stored.in_stock, stored.low_stock),
        version: stored.version,
        events: Vec::new(),
        at: backend.clock.now(),
    };
    assert_eq!(backend.products.record_stock(&[wrong]).await.unwrap(), 1);
}

/// `CatalogueService::rebuild` rewrites the products' copies of their stock records (units
/// sold, in stock) where they disagree, and only there: corrupted copies come back equal to
/// the records, and a second rebuild finds nothing to correct.
pub async fn rebuild_repairs_the_stock_copies(backend: &Backend) {
    let ecom: Ecom = ecom_with(backend, CheckoutStrategy::Atomic);
    let (shop, _) = shop(&ecom).await;
    let mut products = Vec::new();
    for stock in [4, 2, 6] {
        products.push(published_product(&ecom, &shop, "3", stock).await);
    }
    for (product, quantity) in products.iter().zip([1, 2, 0]) {
        if quantity > 0 {
            let request = request(&shop, &[(product, quantity)], None);
            ecom.checkout
                .place_order(&CustomerId::generate(), place(request, None))
                .await
                .unwrap();
        }
    }
    ecom.checkout.flush().await;
    let mine = |all: Vec<Product>| -> Vec<(ProductId, u64, bool)> {
        all.into_iter()
            .filter(|p| p.shop_id == shop)
            .map(|p| (p.id, p.sold, p.in_stock))
            .collect()
    };
    let ids: Vec<ProductId> = products.iter().map(|p| p.id.clone()).collect();
    let right = mine(backend.products.get_many(&ids).await.unwrap());
    assert_eq!(
        right
            .iter()
            .map(|(_, sold, in_stock)| (*sold, *in_stock))
            .collect::<Vec<_>>(),
        [(1, true), (2, false), (0, true)],
        "the copies after the orders"
    );
    // Corrupt the copies of the first two products (as a crash between a settlement and its
    // refresh, or a hand edit, would leave them).
    for product in &products[..2] {
        let stored = backend.products.get(&product.id).await.unwrap().unwrap();
        overwrite_stock_copy(backend, &product.id, stored.sold + 40, !stored.in_stock).await;
    }
    assert_ne!(mine(backend.products.get_many(&ids).await.unwrap()), right);
    let report = ecom.catalogue.rebuild().await.unwrap();
    assert!(report.checked >= 3, "{report:?}");
    assert_eq!(report.corrected, 2, "{report:?}");
    assert_eq!(mine(backend.products.get_many(&ids).await.unwrap()), right);
    assert_eq!(ecom.catalogue.rebuild().await.unwrap().corrected, 0);
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
    // Without the read model, so that each miss is a store query.
    config.catalogue_index = false;
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

/// Waits out the read model's staleness bound: a write finished before this returns shows in
/// every read model's next answer.
async fn past_the_bound() {
    use crate::service::read_model::{MAX_LAG, STALENESS};
    tokio::time::sleep(STALENESS + MAX_LAG + std::time::Duration::from_millis(2)).await;
}

/// The queries the read-model cases compare: every sort of `shop`'s products and of the
/// whole catalogue, the in-stock filter, a category, a price range and a word.
fn compared_queries(shop: &ShopId) -> Vec<CatalogueQuery> {
    let mut queries = Vec::new();
    for sort in [
        ProductSort::Newest,
        ProductSort::PriceAsc,
        ProductSort::PriceDesc,
        ProductSort::BestSelling,
        ProductSort::Relevance,
    ] {
        for base in [
            CatalogueQuery::default(),
            CatalogueQuery {
                shop: Some(shop.clone()),
                ..CatalogueQuery::default()
            },
            CatalogueQuery {
                in_stock: true,
                ..CatalogueQuery::default()
            },
            CatalogueQuery {
                category: Some("Fashion".into()),
                ..CatalogueQuery::default()
            },
            CatalogueQuery {
                min_price: Some(Money::new(500, Currency::USD)),
                max_price: Some(Money::new(2_000, Currency::USD)),
                ..CatalogueQuery::default()
            },
            CatalogueQuery {
                q: Some("sui".into()),
                ..CatalogueQuery::default()
            },
        ] {
            queries.push(CatalogueQuery { sort, ..base });
        }
    }
    queries
}

/// Asserts that `indexed` answers every compared query, facet, the tree and the storefront
/// exactly as `store` (the store path) does.
async fn assert_same_answers(indexed: &Ecom, store: &Ecom, shop: &ShopId, context: &str) {
    for query in compared_queries(shop) {
        let want = store.catalogue.browse(&query).await.unwrap();
        let got = indexed.catalogue.browse(&query).await.unwrap();
        assert_eq!(got.total, want.total, "{context}: total of {query:?}");
        let sold = |l: &crate::service::Listing| -> Vec<(ProductId, u64, bool, i64)> {
            l.products
                .iter()
                .map(|p| (p.id.clone(), p.sold, p.in_stock, p.price.minor))
                .collect()
        };
        assert_eq!(sold(&got), sold(&want), "{context}: {query:?}");
        assert_eq!(
            indexed.catalogue.facets(&query).await.unwrap(),
            store.catalogue.facets(&query).await.unwrap(),
            "{context}: facets of {query:?}"
        );
    }
    assert_eq!(
        indexed.catalogue.categories().await.unwrap(),
        store.catalogue.categories().await.unwrap(),
        "{context}: the tree"
    );
    assert_eq!(
        indexed.catalogue.storefront(shop).await.unwrap(),
        store.catalogue.storefront(shop).await.unwrap(),
        "{context}: the storefront"
    );
}

/// Two processes (two `Ecom`s over one backend): every write of one shows in the other's read
/// model within the documented bound ([`STALENESS`](crate::service::read_model::STALENESS)
/// plus the last poll's time, at most [`MAX_LAG`](crate::service::read_model::MAX_LAG)):
/// a publish, a price and a category change, units sold and a stock-out from real orders, an
/// unpublish; and in the writer's own model at once.
pub async fn the_read_model_shows_every_processs_writes(backend: &Backend) {
    let writer = ecom_with(backend, CheckoutStrategy::Atomic);
    let reader = ecom_indexed(backend, true);
    let store = ecom_indexed(backend, false);
    let (shop, _) = shop(&writer).await;
    let tee = published_product(&writer, &shop, "10", 2).await;
    let mine = CatalogueQuery {
        shop: Some(shop.clone()),
        ..CatalogueQuery::default()
    };
    // Both models are loaded now.
    assert_eq!(reader.catalogue.browse(&mine).await.unwrap().total, 1);
    assert_eq!(writer.catalogue.browse(&mine).await.unwrap().total, 1);
    // A publish.
    let mug = published_product(&writer, &shop, "25", 5).await;
    assert_eq!(
        writer.catalogue.browse(&mine).await.unwrap().total,
        2,
        "the writer's own model at once"
    );
    past_the_bound().await;
    assert_same_answers(&reader, &store, &shop, "after a publish").await;
    // A price change and a category change.
    for patch in [
        crate::service::ProductPatch {
            price: Some(Money::new(1_500, Currency::USD)),
            ..Default::default()
        },
        crate::service::ProductPatch {
            category: Some("Fashion/Mugs".into()),
            ..Default::default()
        },
    ] {
        writer.products.update(&shop, &mug.id, patch).await.unwrap();
        past_the_bound().await;
        assert_same_answers(&reader, &store, &shop, "after an edit").await;
    }
    let fashion = reader.catalogue.categories().await.unwrap();
    assert!(fashion.iter().any(|n| n.path == "Fashion"), "{fashion:?}");
    // Orders: the tee sells out, the mug sells 3.
    let customer = CustomerId::generate();
    for (product, quantity) in [(&tee, 2), (&mug, 3)] {
        writer
            .checkout
            .place_order(
                &customer,
                place(request(&shop, &[(product, quantity)], None), None),
            )
            .await
            .unwrap();
    }
    writer.checkout.flush().await;
    past_the_bound().await;
    let in_stock = CatalogueQuery {
        in_stock: true,
        ..mine.clone()
    };
    let listing = reader.catalogue.browse(&in_stock).await.unwrap();
    assert_eq!(ids(&listing.products), [&mug.id], "the stock-out shows");
    let best = CatalogueQuery {
        sort: ProductSort::BestSelling,
        ..mine.clone()
    };
    let listing = reader.catalogue.browse(&best).await.unwrap();
    let sold: Vec<(&ProductId, u64)> = listing.products.iter().map(|p| (&p.id, p.sold)).collect();
    assert_eq!(sold, [(&mug.id, 3), (&tee.id, 2)], "units sold order");
    assert_same_answers(&reader, &store, &shop, "after orders").await;
    // An unpublish.
    writer.products.unpublish(&shop, &tee.id).await.unwrap();
    past_the_bound().await;
    let listing = reader.catalogue.browse(&mine).await.unwrap();
    assert_eq!(ids(&listing.products), [&mug.id], "the unpublish shows");
    assert_same_answers(&reader, &store, &shop, "after an unpublish").await;
    assert_same_answers(&writer, &store, &shop, "the writer").await;
}

/// Many concurrent edits, publishes, unpublishes and orders from three processes, then every
/// process's read model answers every compared listing, facet, the tree and the storefront
/// exactly as the store does (itself checked against the brute force above).
pub async fn the_read_model_agrees_with_the_store_after_a_rush(backend: &Backend) {
    let processes: Vec<Ecom> = (0..3)
        .map(|_| ecom_with(backend, CheckoutStrategy::Atomic))
        .collect();
    let store = ecom_indexed(backend, false);
    let (shop, _) = shop(&processes[0]).await;
    let mut products = Vec::new();
    for i in 0..12 {
        let input = new_product(&format!("Suite item {i}"), &format!("{}", 5 + i), 4)
            .with_category(["Fashion/A", "Fashion/B", "Home"][i % 3]);
        let p = processes[0].products.create(&shop, input).await.unwrap();
        products.push(processes[0].products.publish(&shop, &p.id).await.unwrap());
    }
    for p in &processes {
        p.catalogue.warm().await.unwrap();
    }
    let products = std::sync::Arc::new(products);
    let results = super::rush(48, |i| {
        let (ecom, shop, products) = (processes[i % 3].clone(), shop.clone(), products.clone());
        async move {
            let product = &products[i % products.len()];
            match i % 4 {
                0 => {
                    let patch = crate::service::ProductPatch {
                        price: Some(Money::new(100 * (i as i64 + 1), Currency::USD)),
                        category: Some(["Fashion/C", "Home/D", "Tech"][i % 3].into()),
                        ..Default::default()
                    };
                    // A lost race with another edit is a conflict: fine.
                    let _ = ecom.products.update(&shop, &product.id, patch).await;
                }
                1 if i % 8 == 1 => {
                    let _ = ecom.products.unpublish(&shop, &product.id).await;
                }
                _ => {
                    // Orders that outrun the stock are refused: fine.
                    let _ = ecom
                        .checkout
                        .place_order(
                            &CustomerId::generate(),
                            place(request(&shop, &[(product, 1)], None), None),
                        )
                        .await;
                }
            }
        }
    })
    .await;
    assert_eq!(results.len(), 48);
    for p in &processes {
        p.checkout.flush().await;
    }
    past_the_bound().await;
    for (n, p) in processes.iter().enumerate() {
        assert_same_answers(p, &store, &shop, &format!("process {n}")).await;
    }
}
