//! The catalogue's shapes: facets, the category tree and a shop's storefront.

use chrono::{DateTime, Utc};
use ecom_core::category::CategoryNode;
use ecom_core::product::Facets;
use ecom_core::service::Storefront;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A category of the tree, with its published products (in it or under it).
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    /// Its own level's name.
    #[schema(example = "T-Shirts")]
    pub name: String,
    /// Its whole path.
    #[schema(example = "Fashion/Men/T-Shirts")]
    pub path: String,
    /// Published products in it or in a category under it.
    pub count: u64,
    /// The categories right under it, by name.
    #[schema(no_recursion)]
    pub children: Vec<CategoryDto>,
}

impl From<CategoryNode> for CategoryDto {
    fn from(node: CategoryNode) -> Self {
        CategoryDto {
            name: node.name,
            path: node.path,
            count: node.count,
            children: node.children.into_iter().map(CategoryDto::from).collect(),
        }
    }
}

/// A category's count among the matches (each product counts in its category and every
/// category above it).
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    /// The category path.
    pub path: String,
    /// Matching products in it or under it.
    pub count: u64,
}

/// A product type's count among the matches.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeCount {
    /// The product type.
    pub name: String,
    /// Matching products of it.
    pub count: u64,
}

/// A shop's count among the matches.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopCount {
    /// The shop's id.
    #[serde(rename = "shopId")]
    pub shop_id: String,
    /// Matching products of it.
    pub count: u64,
}

/// The price range of the matches, in major units (`null` bounds when nothing matches).
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceRange {
    /// Lowest price.
    #[schema(value_type = Option<f64>, example = 9.5)]
    pub min: Value,
    /// Highest price.
    #[schema(value_type = Option<f64>, example = 120)]
    pub max: Value,
}

/// `GET /products/facets`: counts of the matching products.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsDto {
    /// How many products match.
    pub total: u64,
    /// Per category path, by path.
    pub categories: Vec<CategoryCount>,
    /// Per product type, by name.
    pub types: Vec<TypeCount>,
    /// Per shop, by id.
    pub shops: Vec<ShopCount>,
    /// The price range.
    pub price: PriceRange,
}

impl From<Facets> for FacetsDto {
    fn from(f: Facets) -> Self {
        let (min, max) = f.price.map_or((Value::Null, Value::Null), |(lo, hi)| {
            (lo.major_json(), hi.major_json())
        });
        FacetsDto {
            total: f.total,
            categories: f
                .categories
                .into_iter()
                .map(|(path, count)| CategoryCount { path, count })
                .collect(),
            types: f
                .kinds
                .into_iter()
                .map(|(name, count)| TypeCount { name, count })
                .collect(),
            shops: f
                .shops
                .into_iter()
                .map(|(shop, count)| ShopCount {
                    shop_id: shop.to_string(),
                    count,
                })
                .collect(),
            price: PriceRange { min, max },
        }
    }
}

/// `GET /shops/{shopId}`: a shop's public face.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorefrontDto {
    /// The shop's id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its published products.
    pub product_count: u64,
    /// When it signed up.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
}

impl From<Storefront> for StorefrontDto {
    fn from(s: Storefront) -> Self {
        StorefrontDto {
            id: s.id.to_string(),
            name: s.name,
            product_count: s.product_count,
            created_at: s.created_at,
        }
    }
}
