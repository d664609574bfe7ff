//! [`ProductRepo`] on the `Products` collection.

use crate::error::{exists_as, out_of_range, to_core};
use crate::timestamp;
use async_trait::async_trait;
use bson::{doc, Document};
use ecom_core::clock::Timestamp;
use ecom_core::id::{ProductId, ShopId};
use ecom_core::product::{Product, ProductFilter, ProductQuery, ProductRepo, ProductSort};
use ecom_core::{Error, Money, Result};
use futures::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Collection of products.
pub(crate) const PRODUCTS: &str = "Products";

fn index(name: &str, keys: Document) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().name(name.to_owned()).build())
        .build()
}

/// Indexes of `Products`: the public listings (published + each sort key), a shop's drafts and
/// published products by last update, and the multikey keyword index.
pub(crate) fn indexes() -> Vec<IndexModel> {
    vec![
        index(
            "published_newest",
            doc! { "isPublished": 1, "createdAt": -1, "_id": -1 },
        ),
        index(
            "published_price",
            doc! { "isPublished": 1, "price.minor": 1, "_id": -1 },
        ),
        index(
            "shop_draft_updated",
            doc! { "shopId": 1, "isDraft": 1, "updatedAt": -1, "_id": -1 },
        ),
        index("search_terms", doc! { "searchTerms": 1, "isPublished": 1 }),
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
    variations: Vec<Value>,
    is_draft: bool,
    is_published: bool,
    search_terms: Vec<String>,
    version: i64,
    #[serde(with = "timestamp")]
    created_at: Timestamp,
    #[serde(with = "timestamp")]
    updated_at: Timestamp,
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
            is_draft: p.is_draft,
            is_published: p.is_published,
            search_terms: p.search_terms.clone(),
            version: i64::try_from(p.version)
                .map_err(|_| Error::validation("version", "is too large"))?,
            created_at: p.created_at,
            updated_at: p.updated_at,
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
            is_draft: self.is_draft,
            is_published: self.is_published,
            search_terms: self.search_terms,
            version: u64::try_from(self.version).map_err(|_| out_of_range("version"))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn filter_of(filter: &ProductFilter) -> Document {
    match filter {
        ProductFilter::Published => doc! { "isPublished": true },
        ProductFilter::Search { terms } => {
            doc! { "isPublished": true, "searchTerms": { "$all": terms.clone() } }
        }
        ProductFilter::Shop { shop_id, published } => doc! {
            "shopId": shop_id.as_str(),
            "isPublished": *published,
            "isDraft": !*published,
        },
    }
}

fn sort_of(sort: ProductSort) -> Document {
    match sort {
        ProductSort::Newest => doc! { "createdAt": -1, "_id": -1 },
        ProductSort::RecentlyUpdated => doc! { "updatedAt": -1, "_id": -1 },
        ProductSort::PriceAsc => doc! { "price.minor": 1, "_id": -1 },
        ProductSort::PriceDesc => doc! { "price.minor": -1, "_id": -1 },
    }
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
            products: crate::collection(db, PRODUCTS),
        }
    }
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
        let docs: Vec<ProductDoc> = self
            .products
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(ProductDoc::into_product).collect()
    }

    async fn replace(&self, product: &Product, expected_version: u64) -> Result<()> {
        let expected = i64::try_from(expected_version).map_err(|_| Error::changed("product"))?;
        let replaced = self
            .products
            .replace_one(
                doc! { "_id": product.id.as_str(), "version": expected },
                ProductDoc::from_product(product)?,
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
        let docs: Vec<ProductDoc> = self
            .products
            .find(filter_of(&query.filter))
            .sort(sort_of(query.sort))
            .skip(query.page.skip)
            .limit(i64::from(query.page.limit))
            .await
            .map_err(to_core)?
            .try_collect()
            .await
            .map_err(to_core)?;
        docs.into_iter().map(ProductDoc::into_product).collect()
    }
}
