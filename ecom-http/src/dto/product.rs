//! Products: create and patch bodies, list queries, and the product JSON.

use crate::error::AppError;
use chrono::{DateTime, Utc};
use ecom_core::id::ShopId;
use ecom_core::money::{Currency, MajorUnits, Money};
use ecom_core::page::{Page, DEFAULT_PAGE_LIMIT};
use ecom_core::product::ProductCursor;
use ecom_core::product::{Product, ProductSort};
use ecom_core::service::{CatalogueQuery, NewProduct, ProductPatch};
use ecom_core::variant::{Model, ModelInput, Offer, Variation};
use ecom_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /products`. The document gives one variant per registered product kind, each
/// with the attributes that kind accepts.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProductBody {
    /// Name, 1 to 200 characters (trimmed).
    #[schema(schema_with = super::text::<200>, example = "Plain tee")]
    pub product_name: String,
    /// Thumbnail URL or path, 1 to 2048 characters (trimmed).
    #[schema(schema_with = super::text::<2048>, example = "https://img.example/tee.png")]
    pub product_thumb: String,
    /// Description, up to 10000 characters (optional).
    #[serde(default)]
    #[schema(schema_with = super::nullable_text::<10000>)]
    pub product_description: Option<String>,
    /// Unit price in major units, greater than 0. Required without models, refused with them
    /// (each model has its price).
    #[serde(default)]
    #[schema(schema_with = super::price_schema)]
    pub product_price: Option<MajorUnits>,
    /// Initial stock, 1 to 1000000; also put in the product's inventory. Required without
    /// models, refused with them (each model has its stock).
    #[schema(schema_with = super::quantity_schema, example = 10)]
    #[serde(default, deserialize_with = "super::whole_opt")]
    pub product_quantity: Option<u32>,
    /// A registered product kind: `Clothing`, `Electronics`, `Furniture`, or one plugged in.
    #[schema(example = "Clothing")]
    pub product_type: String,
    /// Attributes, validated by the kind (e.g. Clothing: brand required, size, material).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub product_attributes: Map<String, Value>,
    /// Tiers of variation (Shopee's tier variations): at most 2, each `{name, options}` with 1
    /// to 20 options distinct ignoring case; a kind may restrict a tier's options (Clothing:
    /// `Size` is one of XXS, XS, S, M, L, XL, XXL, 3XL, 4XL, 5XL, Free Size). Needs
    /// `product_models`.
    #[serde(default)]
    pub product_variations: Vec<VariationBody>,
    /// The models sold, one per combination of options (not every combination is needed),
    /// each with its own price, stock and SKU. Needs `product_variations`.
    #[serde(default)]
    #[schema(max_items = 400)]
    pub product_models: Option<Vec<ModelBody>>,
    /// Category path: 1 to 4 levels separated by `/`, each 1 to 50 characters once trimmed
    /// (e.g. `Fashion/Men/T-Shirts`). Optional (`null` is the same as leaving it out).
    #[serde(default)]
    #[schema(schema_with = super::nullable_category_schema)]
    pub product_category: Option<String>,
    /// Free stock at or below which the product counts as low on stock (a `stock.low` event),
    /// 0 to 1000000; default 5.
    #[serde(default, deserialize_with = "super::whole_opt")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub product_low_stock_threshold: Option<u32>,
}

/// One tier of variation, as sent and shown.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VariationBody {
    /// The tier's name, e.g. `Size` (1 to 50 characters).
    #[schema(schema_with = super::text::<50>, example = "Size")]
    pub name: String,
    /// Its options, 1 to 20, distinct ignoring case, each 1 to 50 characters.
    #[schema(min_items = 1, max_items = 20, example = json!(["S", "M", "L"]))]
    pub options: Vec<String>,
}

impl From<VariationBody> for Variation {
    fn from(v: VariationBody) -> Self {
        Variation {
            name: v.name,
            options: v.options,
        }
    }
}

impl From<Variation> for VariationBody {
    fn from(v: Variation) -> Self {
        VariationBody {
            name: v.name,
            options: v.options,
        }
    }
}

/// A model in `POST /products` and `PATCH /products/{productId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelBody {
    /// In a `PATCH`: the model to keep or change (leave out for a new model). Refused in a
    /// `POST`.
    #[serde(default)]
    #[schema(nullable = false)]
    pub model_id: Option<String>,
    /// The option of each tier, by index from 0 (`[color, size]`).
    #[schema(min_items = 1, max_items = 2, example = json!([0, 1]))]
    pub tier_index: Vec<u32>,
    /// Unit price in major units, greater than 0.
    #[schema(schema_with = super::price_schema)]
    pub price: MajorUnits,
    /// Initial stock of a new model, 0 to 1000000 (default 0); refused for an existing model
    /// (its stock moves through `/inventory`).
    #[serde(default, deserialize_with = "super::whole_opt")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub stock: Option<u32>,
    /// The shop's SKU, 1 to 100 characters, distinct within the product (optional).
    #[serde(default)]
    #[schema(schema_with = super::nullable_required_text::<100>)]
    pub sku: Option<String>,
}

impl ModelBody {
    fn into_input(self, currency: Currency, patch: bool) -> Result<ModelInput, Error> {
        let id = match (self.model_id, patch) {
            (Some(_), false) => {
                return Err(Error::validation(
                    "models",
                    "model_id is given by the server",
                ))
            }
            (id, _) => id
                .map(|id| ecom_core::id::ProductId::parse(&id))
                .transpose()
                .map_err(|_| Error::validation("models", "model_id must be a model's id"))?,
        };
        Ok(ModelInput {
            id,
            tier_index: self.tier_index,
            price: Money::parse_major(&self.price, currency, "models")?,
            stock: self.stock,
            sku: self.sku,
        })
    }
}

/// Models as the core takes them.
fn model_inputs(
    models: Vec<ModelBody>,
    currency: Currency,
    patch: bool,
) -> Result<Vec<ModelInput>, Error> {
    models
        .into_iter()
        .map(|m| m.into_input(currency, patch))
        .collect()
}

impl CreateProductBody {
    /// The core's input, with the price read exactly in `currency`.
    pub fn into_new_product(self, currency: Currency) -> Result<NewProduct, Error> {
        let price = self
            .product_price
            .map(|p| Money::parse_major(&p, currency, "price"))
            .transpose()?;
        let models = self
            .product_models
            .map(|models| model_inputs(models, currency, false))
            .transpose()?;
        let variations = self
            .product_variations
            .into_iter()
            .map(Variation::from)
            .collect();
        Ok(NewProduct {
            name: self.product_name,
            thumb: self.product_thumb,
            description: self.product_description.unwrap_or_default(),
            offer: Offer::from_parts(price, self.product_quantity, variations, models)?,
            kind: self.product_type,
            attributes: self.product_attributes,
            category: self.product_category,
            low_stock_threshold: self.product_low_stock_threshold,
        })
    }
}

/// Body of `PATCH /products/{productId}`: absent fields stay as they are;
/// `product_attributes` merge key by key (a `null` leaves a key unchanged) and are re-validated
/// by the product's kind. The kind and quantity cannot change here (stock moves through
/// `/inventory`), so any other field is a 400.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProductBody {
    /// New name, 1 to 200 characters.
    #[serde(default)]
    #[schema(schema_with = super::nullable_required_text::<200>)]
    pub product_name: Option<String>,
    /// New thumbnail, 1 to 2048 characters.
    #[serde(default)]
    #[schema(schema_with = super::nullable_required_text::<2048>)]
    pub product_thumb: Option<String>,
    /// New description, up to 10000 characters.
    #[serde(default)]
    #[schema(schema_with = super::nullable_text::<10000>)]
    pub product_description: Option<String>,
    /// New price in major units, greater than 0.
    #[serde(default)]
    #[schema(schema_with = super::nullable_price_schema)]
    pub product_price: Option<MajorUnits>,
    /// Attributes to merge: those of the product's kind (the document lists the attributes of
    /// every registered kind).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub product_attributes: Option<Map<String, Value>>,
    /// New tiers of variation (replace the old ones), as in `POST /products`; only for a
    /// product with models (the models' options are checked against them).
    #[serde(default)]
    #[schema(nullable = true)]
    pub product_variations: Option<Vec<VariationBody>>,
    /// The models wanted, for a product with models: an entry with `model_id` keeps (and may
    /// reprice, re-SKU or move to other options) that model, one without adds a model with
    /// its stock; a model left out is removed (its free units leave by a recorded adjustment),
    /// unless a checkout or return holds its stock: 409.
    #[serde(default)]
    #[schema(nullable = true, max_items = 400)]
    pub product_models: Option<Vec<ModelBody>>,
    /// New category path, as in `POST /products`.
    #[serde(default)]
    #[schema(schema_with = super::nullable_category_schema)]
    pub product_category: Option<String>,
    /// Free stock at or below which the product counts as low on stock (a `stock.low` event),
    /// 0 to 1000000; default 5.
    #[serde(default, deserialize_with = "super::whole_opt")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub product_low_stock_threshold: Option<u32>,
}

impl PatchProductBody {
    /// The core's input, with a new price read exactly in `currency`.
    pub fn into_patch(self, currency: Currency) -> Result<ProductPatch, Error> {
        Ok(ProductPatch {
            name: self.product_name,
            thumb: self.product_thumb,
            description: self.product_description,
            price: self
                .product_price
                .map(|p| Money::parse_major(&p, currency, "price"))
                .transpose()?,
            attributes: self.product_attributes,
            variations: self
                .product_variations
                .map(|v| v.into_iter().map(Variation::from).collect()),
            models: self
                .product_models
                .map(|m| model_inputs(m, currency, true))
                .transpose()?,
            category: self.product_category,
            low_stock_threshold: self.product_low_stock_threshold,
        })
    }
}

/// Order of the public product list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    /// Newest first.
    #[default]
    Ctime,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Most words of `q` matched first, then newest (newest first without `q`).
    Relevance,
    /// Most units sold first.
    BestSelling,
}

impl From<SortParam> for ProductSort {
    fn from(sort: SortParam) -> Self {
        match sort {
            SortParam::Ctime => ProductSort::Newest,
            SortParam::PriceAsc => ProductSort::PriceAsc,
            SortParam::PriceDesc => ProductSort::PriceDesc,
            SortParam::Relevance => ProductSort::Relevance,
            SortParam::BestSelling => ProductSort::BestSelling,
        }
    }
}

/// Query of the public lists: `limit` (1..=100, default 50), `page` (from 1), `sort`; any other
/// parameter is a 400.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// `ctime` (newest first, default), `price_asc`, `price_desc`, `relevance` (most words
    /// of the search matched first) or `best_selling`.
    #[param(inline)]
    pub sort: Option<SortParam>,
}

/// Query of the public catalogue (`/products/all`, `/shops/{shopId}/products`,
/// `/products/facets`): paging and sort as in every public list, and filters, all optional
/// and combined (every one must hold); any other parameter is a 400. The facets ignore
/// `limit`, `page` and `sort`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogueParams {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Page number, 1 to 1000000 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<u64>,
    /// `ctime` (newest first; the default without `q`), `price_asc`, `price_desc`,
    /// `relevance` (most words of `q` matched first, then newest; the default with `q`) or
    /// `best_selling` (most units sold first).
    #[param(inline)]
    pub sort: Option<SortParam>,
    /// A category path: products in it and in every category under it.
    #[param(schema_with = super::category_schema)]
    pub category: Option<String>,
    /// One shop's products (its id).
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub shop: Option<String>,
    /// One product type's products (a registered kind, e.g. `Clothing`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Lowest price in major units, inclusive.
    #[param(schema_with = super::price_filter_schema)]
    pub min_price: Option<MajorUnits>,
    /// Highest price in major units, inclusive (not below `min_price`).
    #[param(schema_with = super::price_filter_schema)]
    pub max_price: Option<MajorUnits>,
    /// Words to find, at most 10 (case and accent insensitive); the last word also matches as
    /// a prefix. Products matching at least one word are listed.
    #[param(max_length = 1000)]
    pub q: Option<String>,
    /// `true`: only products with stock free to sell.
    pub in_stock: Option<bool>,
    /// A cursor: the page after the one whose `x-next-cursor` header gave it (same filters and
    /// `sort`; not with `page`). Deep pages cost a page this way, and products added or
    /// removed before it shift nothing.
    #[param(max_length = 200)]
    pub after: Option<String>,
}

impl CatalogueParams {
    /// The core's query, with prices read exactly in `currency`.
    pub fn into_query(self, currency: Currency) -> Result<CatalogueQuery, AppError> {
        let price = |p: &Option<MajorUnits>, field: &str| {
            p.as_ref()
                .map(|p| Money::parse_major(p, currency, field))
                .transpose()
        };
        if self.after.is_some() && self.page.is_some() {
            return Err(Error::validation("after", "cannot be combined with page").into());
        }
        let page = Page::numbered(
            self.page.unwrap_or(1),
            self.limit.unwrap_or(DEFAULT_PAGE_LIMIT),
        )?;
        let default_sort = if self.q.is_some() {
            ProductSort::Relevance
        } else {
            ProductSort::Newest
        };
        let sort = self.sort.map_or(default_sort, ProductSort::from);
        let after = self
            .after
            .as_deref()
            .map(|text| ProductCursor::parse(text, sort))
            .transpose()?;
        Ok(CatalogueQuery {
            min_price: price(&self.min_price, "min_price")?,
            max_price: price(&self.max_price, "max_price")?,
            category: self.category,
            shop: self
                .shop
                .map(|s| {
                    ShopId::parse(&s).map_err(|_| Error::validation("shop", "is not a shop id"))
                })
                .transpose()?,
            kind: self.kind,
            q: self.q,
            in_stock: self.in_stock.unwrap_or(false),
            sort,
            page,
            after,
        })
    }
}

impl ListQuery {
    /// The page this query asks for.
    pub fn page(&self) -> Result<Page, AppError> {
        Ok(Page::numbered(
            self.page.unwrap_or(1),
            self.limit.unwrap_or(DEFAULT_PAGE_LIMIT),
        )?)
    }
}

/// Query of a shop's own lists: `limit` (1..=100, default 50) and `skip` (default 0); any other
/// parameter is a 400.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShopListQuery {
    /// Items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Items to skip, 0 to 100000000 (default 0).
    #[param(minimum = 0, maximum = 100000000)]
    pub skip: Option<u64>,
}

impl ShopListQuery {
    /// The page this query asks for.
    pub fn page(&self) -> Result<Page, AppError> {
        Ok(Page::offset(
            self.skip.unwrap_or(0),
            self.limit.unwrap_or(DEFAULT_PAGE_LIMIT),
        )?)
    }
}

/// A product as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    /// The product id (its inventory has the same).
    #[serde(rename = "_id")]
    pub id: String,
    /// Name.
    pub product_name: String,
    /// URL slug derived from the name.
    pub product_slug: String,
    /// Thumbnail.
    pub product_thumb: String,
    /// Description (may be empty).
    pub product_description: String,
    /// Unit price in major units; with models, the lowest model price.
    #[schema(value_type = f64, example = 19.99)]
    pub product_price: Value,
    /// The highest price (the product's price without models).
    #[schema(value_type = f64, example = 24.99)]
    pub product_price_max: Value,
    /// ISO 4217 code of the price.
    #[schema(example = "USD")]
    pub product_currency: String,
    /// The quantity it was created with; with models, the sum of their stock as created or
    /// added (current stock: `/inventory/{productId}`).
    pub product_quantity: u32,
    /// The product kind.
    pub product_type: String,
    /// The owning shop's id.
    pub product_shop: String,
    /// Attributes, normalized by the kind.
    #[schema(value_type = Object)]
    pub product_attributes: Map<String, Value>,
    /// Average rating.
    pub product_rating: f64,
    /// Tiers of variation (empty without models).
    pub product_variations: Vec<VariationBody>,
    /// The models (empty for a product without variations).
    pub product_models: Vec<ModelDto>,
    /// Category path, or `null`.
    pub product_category: Option<String>,
    /// Units in live orders (placed and not cancelled).
    pub product_sold: u64,
    /// Free stock at or below which it counts as low on stock (`stock.low`).
    pub product_low_stock_threshold: u32,
    /// True until published.
    #[serde(rename = "isDraft")]
    pub is_draft: bool,
    /// Visible to everyone.
    #[serde(rename = "isPublished")]
    pub is_published: bool,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(rename = "updatedAt")]
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            id: p.id.to_string(),
            product_price: p.price.major_json(),
            product_price_max: p.price_max().major_json(),
            product_models: p.models.into_iter().map(ModelDto::from).collect(),
            product_currency: p.price.currency.code().to_owned(),
            product_name: p.name,
            product_slug: p.slug,
            product_thumb: p.thumb,
            product_description: p.description,
            product_quantity: p.quantity,
            product_type: p.kind,
            product_shop: p.shop_id.to_string(),
            product_attributes: p.attributes,
            product_rating: p.rating,
            product_variations: p.variations.into_iter().map(VariationBody::from).collect(),
            product_category: p.category,
            product_sold: p.sold,
            product_low_stock_threshold: p.low_stock_threshold,
            is_draft: p.is_draft,
            is_published: p.is_published,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A model as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDto {
    /// Its id (name it as `modelId` in carts, checkouts and `/inventory`).
    pub model_id: String,
    /// The option of each tier, by index.
    pub tier_index: Vec<u32>,
    /// The options' names, `Red / M`.
    pub name: String,
    /// Unit price in major units.
    #[schema(value_type = f64, example = 19.99)]
    pub price: Value,
    /// The stock it was created with (current stock: `/inventory/{productId}`).
    pub stock: u32,
    /// The shop's SKU, or `null`.
    pub sku: Option<String>,
}

impl From<Model> for ModelDto {
    fn from(m: Model) -> Self {
        ModelDto {
            model_id: m.id.to_string(),
            tier_index: m.tier_index,
            name: m.name,
            price: m.price.major_json(),
            stock: m.stock,
            sku: m.sku,
        }
    }
}

/// Products as the API shows them.
pub fn products(list: Vec<Product>) -> Vec<ProductDto> {
    list.into_iter().map(ProductDto::from).collect()
}
