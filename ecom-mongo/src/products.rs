//! [`ProductRepo`] on the `Products` collection.

use crate::collection::{collection, index, update_each};
use crate::error::{exists_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Bson, Document};
use ecom_core::category::ancestors;
use ecom_core::clock::Timestamp;
use ecom_core::event::Event;
use ecom_core::id::{ProductId, ShopId};
use ecom_core::page::Page;
use ecom_core::product::{
    CatalogueFilter, Facets, Product, ProductCursor, ProductFilter, ProductQuery, ProductRepo,
    ProductSort, SortKey, StockRecord,
};
use ecom_core::search::{self, SearchWords};
use ecom_core::variant::{Model, Variation};
use ecom_core::{Error, Money, Result};
use futures::TryStreamExt;
use mongodb::action::Action;
use mongodb::options::Hint;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Collection of products.
pub(crate) const PRODUCTS: &str = "Products";

/// Indexes of `Products`: the public listings (published + each sort key: newest, price, best
/// selling), each equality filter of the catalogue with newest first (category subtree, shop,
/// kind), a shop's drafts and published products by last update, and the multikey keyword
/// indexes (whole words, prefixes).
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        index(
            "published_sold",
            doc! { "isPublished": 1, "sold": -1, "_id": -1 },
        ),
        index(
            "category_newest",
            doc! { "categoryPaths": 1, "isPublished": 1, "createdAt": -1, "_id": -1 },
        ),
        index(
            "shop_newest",
            doc! { "shopId": 1, "isPublished": 1, "createdAt": -1, "_id": -1 },
        ),
        index(
            "kind_newest",
            doc! { "kind": 1, "isPublished": 1, "createdAt": -1, "_id": -1 },
        ),
        index(
            "search_prefixes",
            doc! { "searchPrefixes": 1, "isPublished": 1 },
        ),
        index(
            "published_newest",
            doc! { "isPublished": 1, "createdAt": -1, "_id": -1 },
        ),
        index(
            "published_price",
            doc! { "isPublished": 1, "price.minor": 1, "_id": -1 },
        ),
        index("published_prices", doc! { "prices": 1, "isPublished": 1 }),
        index(
            "shop_draft_updated",
            doc! { "shopId": 1, "isDraft": 1, "updatedAt": -1, "_id": -1 },
        ),
        index("search_terms", doc! { "searchTerms": 1, "isPublished": 1 }),
        index("published_id", doc! { "isPublished": 1, "_id": 1 }),
        index(
            "changed_seconds",
            doc! { "changedSecond": 1, "changedAt": 1 },
        ),
    ]
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductDoc {
    #[serde(rename = "_id")]
    id: ProductId,
    shop_id: ShopId,
    name: String,
    slug: String,
    thumb: String,
    description: String,
    /// `{ minor: i64, currency: "USD" }`.
    price: Money,
    quantity: i64,
    kind: String,
    attributes: Map<String, Value>,
    rating: f64,
    #[serde(default)]
    variations: Vec<Variation>,
    /// The models, absent for a product without any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    models: Vec<ModelDoc>,
    /// Every price it sells at (the price filter's lookup: any may match); derived.
    #[serde(default, skip_deserializing)]
    prices: Vec<i64>,
    /// Its highest price (the price facet's maximum); derived.
    #[serde(default, skip_deserializing)]
    price_max: i64,
    is_draft: bool,
    is_published: bool,
    search_terms: Vec<String>,
    /// Every prefix of every search term (the last query word's lookup); derived, never read.
    #[serde(default, skip_deserializing)]
    search_prefixes: Vec<String>,
    /// The category path, absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    /// The category and every category above it (the subtree filter's lookup); derived.
    #[serde(default, skip_deserializing)]
    category_paths: Vec<String>,
    /// Units sold as last recorded (the best-selling sort); only `record_stock` writes it.
    #[serde(default)]
    sold: i64,
    /// Whether it has free stock, as last recorded (the in-stock filter); only `record_stock`
    /// writes it after the insert.
    #[serde(default = "in_stock_by_default")]
    in_stock: bool,
    /// Whether it is low on stock, as last recorded; only `record_stock` writes it.
    #[serde(default)]
    low_stock: bool,
    /// Its low-stock threshold.
    #[serde(default = "default_low_stock_threshold")]
    low_stock_threshold: u32,
    /// Events waiting for the relay (written with the change that made them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<Event>,
    version: i64,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
    /// When it was last written ([`ProductRepo::changed_since`]): `updatedAt` by inserts and
    /// replaces, the record's time by `record_stock`; derived, never read back.
    #[serde(
        default = "epoch",
        skip_deserializing,
        serialize_with = "timestamp::serialize"
    )]
    changed_at: Timestamp,
    /// `changedAt`'s whole second since the epoch: polls look up each second of their
    /// window by equality (a range over the whole index costs secantusd-rs a scan of it).
    #[serde(default, skip_deserializing)]
    changed_second: i64,
}

fn epoch() -> Timestamp {
    Timestamp::default()
}

impl ProductDoc {
    fn from_product(p: &Product) -> Result<Self> {
        Ok(ProductDoc {
            id: p.id.clone(),
            shop_id: p.shop_id.clone(),
            name: p.name.clone(),
            slug: p.slug.clone(),
            thumb: p.thumb.clone(),
            description: p.description.clone(),
            price: p.price,
            quantity: i64::from(p.quantity),
            kind: p.kind.clone(),
            attributes: p.attributes.clone(),
            rating: p.rating,
            variations: p.variations.clone(),
            models: p.models.iter().map(ModelDoc::from_model).collect(),
            prices: p.prices().map(|m| m.minor).collect(),
            price_max: p.price_max().minor,
            is_draft: p.is_draft,
            is_published: p.is_published,
            search_terms: p.search_terms.clone(),
            search_prefixes: search::prefixes(&p.search_terms),
            category: p.category.clone(),
            category_paths: p.category.as_deref().map(ancestors).unwrap_or_default(),
            sold: i64::try_from(p.sold).map_err(|_| Error::validation("sold", "is too large"))?,
            in_stock: p.in_stock,
            low_stock: p.low_stock,
            low_stock_threshold: p.low_stock_threshold,
            outbox: Vec::new(),
            version: i64::try_from(p.version)
                .map_err(|_| Error::validation("version", "is too large"))?,
            created_at: p.created_at,
            updated_at: p.updated_at,
            changed_at: p.updated_at,
            changed_second: p.updated_at.timestamp(),
        })
    }

    fn into_product(self) -> Result<Product> {
        Ok(Product {
            id: self.id,
            shop_id: self.shop_id,
            name: self.name,
            slug: self.slug,
            thumb: self.thumb,
            description: self.description,
            price: self.price,
            quantity: u32::try_from(self.quantity).map_err(|_| out_of_range("quantity"))?,
            kind: self.kind,
            attributes: self.attributes,
            rating: self.rating,
            variations: self.variations,
            models: self
                .models
                .into_iter()
                .map(ModelDoc::into_model)
                .collect::<Result<_>>()?,
            is_draft: self.is_draft,
            is_published: self.is_published,
            search_terms: self.search_terms,
            category: self.category,
            sold: u64::try_from(self.sold).map_err(|_| out_of_range("sold"))?,
            in_stock: self.in_stock,
            low_stock: self.low_stock,
            low_stock_threshold: self.low_stock_threshold,
            version: u64::try_from(self.version).map_err(|_| out_of_range("version"))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A model as stored: numbers as BSON integers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelDoc {
    model_id: ProductId,
    tier_index: Vec<i64>,
    name: String,
    price: Money,
    stock: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
}

impl ModelDoc {
    fn from_model(m: &Model) -> Self {
        ModelDoc {
            model_id: m.id.clone(),
            tier_index: m.tier_index.iter().map(|&i| i64::from(i)).collect(),
            name: m.name.clone(),
            price: m.price,
            stock: i64::from(m.stock),
            sku: m.sku.clone(),
        }
    }

    fn into_model(self) -> Result<Model> {
        Ok(Model {
            id: self.model_id,
            tier_index: self
                .tier_index
                .into_iter()
                .map(|i| u32::try_from(i).map_err(|_| out_of_range("tierIndex")))
                .collect::<Result<_>>()?,
            name: self.name,
            price: self.price,
            stock: u32::try_from(self.stock).map_err(|_| out_of_range("stock"))?,
            sku: self.sku,
        })
    }
}

fn filter_of(filter: &ProductFilter) -> Document {
    match filter {
        ProductFilter::Catalogue(catalogue) => catalogue_filter(catalogue),
        ProductFilter::Shop { shop_id, published } => doc! {
            "shopId": shop_id.as_str(),
            "isPublished": *published,
            "isDraft": !*published,
        },
    }
}

/// [`CatalogueFilter::matches`] as a query.
fn catalogue_filter(filter: &CatalogueFilter) -> Document {
    let mut query = doc! { "isPublished": true };
    if let Some(category) = &filter.category {
        query.insert("categoryPaths", category.as_str());
    }
    if let Some(shop) = &filter.shop {
        query.insert("shopId", shop.as_str());
    }
    if let Some(kind) = &filter.kind {
        query.insert("kind", kind.as_str());
    }
    let mut price = Document::new();
    if let Some(min) = filter.min_price {
        price.insert("$gte", min);
    }
    if let Some(max) = filter.max_price {
        price.insert("$lte", max);
    }
    if !price.is_empty() {
        query.insert("prices", doc! { "$elemMatch": price });
    }
    if let Some(words) = &filter.words {
        let prefix = doc! { "searchPrefixes": words.prefix.as_str() };
        if words.whole.is_empty() {
            query.extend(prefix);
        } else {
            query.insert(
                "$or",
                vec![
                    doc! { "searchTerms": { "$in": words.whole.clone() } },
                    prefix,
                ],
            );
        }
    }
    if filter.in_stock {
        query.insert("inStock", true);
    }
    query
}

/// The low-stock threshold of products stored before it existed.
fn default_low_stock_threshold() -> u32 {
    5
}

/// Products stored before the in-stock flag existed count as in stock until refreshed.
fn in_stock_by_default() -> bool {
    true
}

/// The index a catalogue query reads through. Named, not left to the planner: some servers
/// (secantusd-rs among them) try every candidate plan on each uncached query, which costs more
/// than the query itself. The most selective equality wins (shop, category, kind, the keyword
/// prefix), else the sort's own index. `None` for keyword queries with several words (an
/// `$or` over two indexes, planned per branch).
fn hint_for(filter: &ProductFilter, sort: Option<ProductSort>) -> Option<Hint> {
    let name = match filter {
        ProductFilter::Shop { .. } => "shop_draft_updated",
        ProductFilter::Catalogue(c) => match &c.words {
            Some(w) if !w.whole.is_empty() => return None,
            Some(_) => "search_prefixes",
            None if c.shop.is_some() => "shop_newest",
            None if c.category.is_some() => "category_newest",
            None if c.kind.is_some() => "kind_newest",
            None => match sort {
                Some(ProductSort::PriceAsc | ProductSort::PriceDesc) => "published_price",
                Some(ProductSort::BestSelling) => "published_sold",
                _ if c.min_price.is_some() || c.max_price.is_some() => "published_prices",
                _ => "published_newest",
            },
        },
    };
    Some(Hint::Name(name.to_owned()))
}

/// [`CatalogueFilter::relevance`] as an expression: one for each word matched.
fn relevance(words: &SearchWords) -> Document {
    let mut terms: Vec<Bson> = words
        .whole
        .iter()
        .map(|w| Bson::Document(doc! { "$cond": [{ "$in": [w.as_str(), "$searchTerms"] }, 1, 0] }))
        .collect();
    terms.push(Bson::Document(
        doc! { "$cond": [{ "$in": [words.prefix.as_str(), "$searchPrefixes"] }, 1, 0] },
    ));
    doc! { "$add": terms }
}

/// [`ProductQuery::is_after`] as a query: the products past `after` in its sort (the key
/// further along, or the same key and a lower id), `None` without a cursor; the first key
/// field is also bounded on its own, so a server reads the sort's index from the cursor on
/// instead of filtering it from its start. `scored`: the documents carry their `relevance` (a
/// keyword query's pipeline); without keywords every product's relevance is 0 and the order is
/// the newest's.
fn after_filter(after: Option<&ProductCursor>, scored: bool) -> Result<Option<Document>> {
    let Some(after) = after else {
        return Ok(None);
    };
    let id = after.id.as_str();
    let at = |t: &Timestamp| timestamp::to_bson(t).map_err(Error::backend);
    // (field, value, whether the order goes up): the key's fields, most significant first.
    let fields: Vec<(&str, Bson, bool)> = match (after.sort, after.key) {
        (ProductSort::RecentlyUpdated, SortKey::At(t)) => vec![("updatedAt", at(&t)?, false)],
        (_, SortKey::At(t)) => vec![("createdAt", at(&t)?, false)],
        (sort, SortKey::Price(minor)) => {
            vec![(
                "price.minor",
                Bson::Int64(minor),
                sort == ProductSort::PriceAsc,
            )]
        }
        (_, SortKey::Sold(sold)) => {
            let sold = i64::try_from(sold).unwrap_or(i64::MAX);
            vec![("sold", Bson::Int64(sold), false)]
        }
        (_, SortKey::Relevance(_, t)) if !scored => vec![("createdAt", at(&t)?, false)],
        (_, SortKey::Relevance(score, t)) => vec![
            (
                "relevance",
                Bson::Int32(i32::try_from(score).unwrap_or(i32::MAX)),
                false,
            ),
            ("createdAt", at(&t)?, false),
        ],
    };
    // Past the cursor: for some field, every one before it equal and it further along (the
    // id last, going down).
    let mut bound = Document::new();
    if let Some((field, value, up)) = fields.first() {
        let mut from = Document::new();
        from.insert(if *up { "$gte" } else { "$lte" }, value.clone());
        bound.insert(*field, from);
    }
    let mut either = Vec::new();
    let mut equal = Document::new();
    for (field, value, up) in fields {
        let mut branch = equal.clone();
        let mut further = Document::new();
        further.insert(if up { "$gt" } else { "$lt" }, value.clone());
        branch.insert(field, further);
        either.push(branch);
        equal.insert(field, value);
    }
    equal.insert("_id", doc! { "$lt": id });
    either.push(equal);
    bound.insert("$or", either);
    Ok(Some(bound))
}

fn sort_of(sort: ProductSort) -> Document {
    match sort {
        ProductSort::Newest | ProductSort::Relevance => doc! { "createdAt": -1, "_id": -1 },
        ProductSort::RecentlyUpdated => doc! { "updatedAt": -1, "_id": -1 },
        ProductSort::PriceAsc => doc! { "price.minor": 1, "_id": -1 },
        ProductSort::PriceDesc => doc! { "price.minor": -1, "_id": -1 },
        ProductSort::BestSelling => doc! { "sold": -1, "_id": -1 },
    }
}

/// A projection leaving out the fields derived for queries only (never read back): a product's
/// prefixes are its largest field, and checkouts read products on their hot path.
fn derived_fields_left_out() -> Document {
    doc! {
        "searchPrefixes": 0, "categoryPaths": 0, "prices": 0, "priceMax": 0, "changedAt": 0,
        "changedSecond": 0,
    }
}

/// One facet's rows, `{_id: <key>, n: <count>}`, as (key, count).
fn counts(rows: Option<&Bson>) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for row in rows.and_then(Bson::as_array).into_iter().flatten() {
        let row = row.as_document().ok_or_else(|| out_of_range("facets"))?;
        let key = row.get_str("_id").map_err(|_| out_of_range("facets"))?;
        out.push((key.to_owned(), count_of(row.get("n"))?));
    }
    out.sort();
    Ok(out)
}

fn count_of(n: Option<&Bson>) -> Result<u64> {
    let n = match n {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        _ => return Err(out_of_range("facets")),
    };
    u64::try_from(n).map_err(|_| out_of_range("facets"))
}

/// Most seconds a poll looks up one by one; a longer window is one range.
const CHANGED_SECONDS: i64 = 120;

/// The products stamped at or after `since`: each second from `since` to a little past now
/// by equality (cheap on any server), or one range when that is too many seconds (a poll
/// after a long pause, or a clock far from this one).
fn changed_filter(since: Timestamp) -> Result<Document> {
    let at = timestamp::to_bson(&since)?;
    let from = since.timestamp();
    let to = chrono::Utc::now().timestamp() + 5;
    if to < from || to - from > CHANGED_SECONDS {
        return Ok(doc! { "changedAt": { "$gte": at } });
    }
    let seconds: Vec<i64> = (from..=to).collect();
    Ok(doc! { "changedSecond": { "$in": seconds }, "changedAt": { "$gte": at } })
}

/// MongoDB [`ProductRepo`] on the `Products` collection.
#[derive(Debug, Clone)]
pub struct MongoProducts {
    products: Collection<ProductDoc>,
}

impl MongoProducts {
    /// The repository on `db`.
    pub fn new(db: &Database) -> Self {
        MongoProducts {
            products: collection(db, PRODUCTS),
        }
    }

    /// The products `filter` selects, most words matched first, then newest: the relevance
    /// is computed by the server over the matches (found by the keyword indexes).
    async fn ranked(
        &self,
        filter: &CatalogueFilter,
        words: &SearchWords,
        page: Page,
        after: Option<&ProductCursor>,
    ) -> Result<Vec<Product>> {
        let skip = i64::try_from(page.skip).map_err(|_| out_of_range("skip"))?;
        let mut pipeline = vec![
            doc! { "$match": catalogue_filter(filter) },
            doc! { "$addFields": { "relevance": relevance(words) } },
        ];
        if let Some(after) = after_filter(after, true)? {
            pipeline.push(doc! { "$match": after });
        }
        pipeline.extend([
            doc! { "$sort": { "relevance": -1, "createdAt": -1, "_id": -1 } },
            doc! { "$skip": skip },
            doc! { "$limit": i64::from(page.limit) },
            doc! { "$project": {
                "relevance": 0, "searchPrefixes": 0, "categoryPaths": 0, "changedAt": 0,
                "changedSecond": 0,
            } },
        ]);
        let docs: Vec<Document> = self
            .products
            .aggregate(pipeline)
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter()
            .map(|d| {
                bson::from_document::<ProductDoc>(d)
                    .map_err(|_| out_of_range("product"))?
                    .into_product()
            })
            .collect()
    }
}

/// The products `find` matches, their derived fields left out, read whole.
async fn found(find: mongodb::action::Find<'_, ProductDoc>) -> Result<Vec<Product>> {
    let docs: Vec<ProductDoc> = find
        .projection(derived_fields_left_out())
        .await
        .map_err(to_core)?
        .try_collect()
        .await
        .map_err(to_core)?;
    docs.into_iter().map(ProductDoc::into_product).collect()
}

#[async_trait]
impl ProductRepo for MongoProducts {
    async fn insert(&self, product: &Product) -> Result<()> {
        self.products
            .insert_one(ProductDoc::from_product(product)?)
            .await
            .map_err(to_core)
            .map_err(|e| exists_as(e, "product"))?;
        Ok(())
    }

    async fn get(&self, id: &ProductId) -> Result<Option<Product>> {
        self.products
            .find_one(doc! { "_id": id.as_str() })
            .projection(derived_fields_left_out())
            .await
            .map_err(to_core)?
            .map(ProductDoc::into_product)
            .transpose()
    }

    async fn get_many(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(ProductId::as_str).collect();
        found(self.products.find(doc! { "_id": { "$in": ids } })).await
    }

    async fn replace(
        &self,
        product: &Product,
        expected_version: u64,
        events: &[Event],
    ) -> Result<()> {
        let expected = i64::try_from(expected_version).map_err(|_| Error::changed("product"))?;
        // Every field but the id, the units sold and the stock state (which only
        // `record_stock` writes) and the outbox (which gets the new events).
        let mut fields =
            bson::to_document(&ProductDoc::from_product(product)?).map_err(Error::backend)?;
        for derived in ["_id", "sold", "inStock", "lowStock", "outbox"] {
            fields.remove(derived);
        }
        if product.category.is_none() {
            fields.remove("category");
        }
        let mut update = doc! { "$set": fields };
        if !events.is_empty() {
            let events = bson::to_bson(events).map_err(Error::backend)?;
            update.insert("$push", doc! { "outbox": { "$each": events } });
        }
        let replaced = self
            .products
            .update_one(
                doc! { "_id": product.id.as_str(), "version": expected },
                update,
            )
            .await
            .map_err(to_core)?;
        if replaced.matched_count == 1 {
            return Ok(());
        }
        let exists = self
            .products
            .count_documents(doc! { "_id": product.id.as_str() })
            .await
            .map_err(to_core)?;
        if exists == 0 {
            Err(Error::not_found("product"))
        } else {
            Err(Error::changed("product"))
        }
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        if let (ProductSort::Relevance, ProductFilter::Catalogue(catalogue)) =
            (query.sort, &query.filter)
        {
            if let Some(words) = &catalogue.words {
                return self
                    .ranked(catalogue, words, query.page, query.after.as_ref())
                    .await;
            }
        }
        let mut filter = filter_of(&query.filter);
        if let Some(after) = after_filter(query.after.as_ref(), false)? {
            filter.insert("$and", vec![after]);
        }
        found(
            self.products
                .find(filter)
                .sort(sort_of(query.sort))
                .optional(hint_for(&query.filter, Some(query.sort)), |find, hint| {
                    find.hint(hint)
                })
                .skip(query.page.skip)
                .limit(i64::from(query.page.limit)),
        )
        .await
    }

    async fn count(&self, filter: &ProductFilter) -> Result<u64> {
        self.products
            .count_documents(filter_of(filter))
            .optional(hint_for(filter, None), |count, hint| count.hint(hint))
            .await
            .map_err(to_core)
    }

    async fn facets(&self, filter: &CatalogueFilter) -> Result<Facets> {
        let pipeline = vec![
            doc! { "$match": catalogue_filter(filter) },
            doc! { "$facet": {
                "categories": [
                    { "$unwind": "$categoryPaths" },
                    { "$group": { "_id": "$categoryPaths", "n": { "$sum": 1 } } },
                ],
                "kinds": [{ "$group": { "_id": "$kind", "n": { "$sum": 1 } } }],
                "shops": [{ "$group": { "_id": "$shopId", "n": { "$sum": 1 } } }],
                "price": [{ "$group": {
                    "_id": null,
                    "n": { "$sum": 1 },
                    "min": { "$min": "$price.minor" },
                    "max": { "$max": "$priceMax" },
                    "currency": { "$first": "$price.currency" },
                } }],
            } },
        ];
        let mut cursor = self.products.aggregate(pipeline).await.map_err(to_core)?;
        let row = cursor
            .try_next()
            .await
            .map_err(to_core)?
            .unwrap_or_default();
        let mut facets = Facets {
            categories: counts(row.get("categories"))?,
            kinds: counts(row.get("kinds"))?,
            ..Facets::default()
        };
        for (shop, n) in counts(row.get("shops"))? {
            facets.shops.push((ShopId::parse(&shop)?, n));
        }
        let price = row
            .get_array("price")
            .ok()
            .and_then(|rows| rows.first())
            .and_then(Bson::as_document);
        if let Some(price) = price {
            facets.total = count_of(price.get("n"))?;
            let money = |key: &str| -> Result<Money> {
                let currency = price.get("currency").cloned().unwrap_or(Bson::Null);
                let minor = price.get(key).cloned().unwrap_or(Bson::Null);
                bson::from_document(doc! { "minor": minor, "currency": currency })
                    .map_err(|_| out_of_range("price"))
            };
            facets.price = Some((money("min")?, money("max")?));
        }
        Ok(facets)
    }

    async fn record_stock(&self, records: &[StockRecord]) -> Result<u64> {
        let statements = records
            .iter()
            .map(|r| {
                let sold = i64::try_from(r.state.sold).map_err(|_| out_of_range("sold"))?;
                let set = doc! {
                    "sold": sold, "inStock": r.state.in_stock, "lowStock": r.low_stock,
                    "changedAt": timestamp::to_bson(&r.at)?, "changedSecond": r.at.timestamp(),
                };
                // Only over the flags the record was computed against (a product stored
                // before the flags existed counts as in stock and not low), and with events
                // only at the version they were computed at.
                let (in_stock, low) = r.was;
                let mut filter = doc! {
                    "_id": r.product_id.as_str(),
                    "inStock": if in_stock { doc! { "$ne": false } } else { doc! { "$eq": false } },
                    "lowStock": if low { doc! { "$eq": true } } else { doc! { "$ne": true } },
                };
                if r.events.is_empty() {
                    return Ok(doc! { "q": filter, "u": { "$set": set } });
                }
                let version = i64::try_from(r.version).map_err(|_| out_of_range("version"))?;
                filter.insert("version", version);
                let events = bson::to_bson(&r.events).map_err(Error::backend)?;
                Ok(doc! {
                    "q": filter,
                    "u": { "$set": set, "$push": { "outbox": { "$each": events } } },
                })
            })
            .collect::<Result<Vec<Document>>>()?;
        if statements.is_empty() {
            return Ok(0);
        }
        update_each(&self.products, statements).await
    }

    async fn published_after(&self, after: Option<&ProductId>, limit: u32) -> Result<Vec<Product>> {
        let mut filter = doc! { "isPublished": true };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after.as_str() });
        }
        found(
            self.products
                .find(filter)
                .sort(doc! { "_id": 1 })
                .hint(Hint::Name("published_id".to_owned()))
                .limit(i64::from(limit)),
        )
        .await
    }

    async fn changed_since(&self, since: Timestamp, limit: u32) -> Result<Vec<Product>> {
        found(
            self.products
                .find(changed_filter(since)?)
                .hint(Hint::Name("changed_seconds".to_owned()))
                .limit(i64::from(limit)),
        )
        .await
    }
}
