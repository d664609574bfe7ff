//! Products: create (with inventory), partial update, publish, lists and keyword search.

use super::catalogue::CatalogueQuery;
use super::catalogue_cache::CatalogueCache;
use super::config::EcomConfig;
use crate::backend::Backend;
use crate::category::category_path;
use crate::error::{Error, Result};
use crate::id::{ProductId, ShopId};
use crate::inventory::Inventory;
use crate::kind::ProductKind;
use crate::money::Money;
use crate::page::Page;
use crate::product::{Product, ProductFilter, ProductQuery, ProductSort};
use crate::search;
use crate::validate;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Longest product name.
const MAX_NAME: usize = 200;
/// Longest thumbnail reference.
const MAX_THUMB: usize = 2048;
/// Longest description.
const MAX_DESCRIPTION: usize = 10_000;
/// Most variations per product.
const MAX_VARIATIONS: usize = 100;
/// Rating of a new product.
const INITIAL_RATING: f64 = 4.5;

/// Input of [`ProductService::create`]. Build one with [`NewProduct::new`] and the `with_*`
/// methods. Errors name these fields (`name`, `thumb`, `description`, `price`, `stock`, `kind`,
/// `attributes.<key>`, `variations`).
///
/// ```
/// use ecom_core::service::NewProduct;
/// use ecom_core::{Currency, Money};
///
/// let tee = NewProduct::new("Plain tee", "Clothing", Money::new(1999, Currency::USD), 10)
///     .with_thumb("tee.png")
///     .with_attribute("brand", "Acme")
///     .with_attribute("size", "M");
/// assert_eq!(tee.attributes["brand"], "Acme");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewProduct {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Thumbnail URL or path, 1 to 2,048 characters.
    pub thumb: String,
    /// Description (may be empty).
    pub description: String,
    /// Unit price, in the configured currency, above zero.
    pub price: Money,
    /// Initial stock, also put in the inventory.
    pub stock: u32,
    /// Kind name, e.g. `Clothing` (a [`ProductKind`] of the registry).
    pub kind: String,
    /// Attributes, validated and normalized by the kind.
    pub attributes: Map<String, Value>,
    /// Variations (free-form).
    pub variations: Vec<Value>,
    /// Category path ([`crate::category::category_path`]), if any.
    pub category: Option<String>,
}

impl NewProduct {
    /// A product of `kind` named `name` at `price` with `stock` units, with the thumbnail
    /// `"-"`, no description, attributes or variations.
    pub fn new(name: impl Into<String>, kind: impl Into<String>, price: Money, stock: u32) -> Self {
        NewProduct {
            name: name.into(),
            thumb: "-".into(),
            description: String::new(),
            price,
            stock,
            kind: kind.into(),
            attributes: Map::new(),
            variations: Vec::new(),
            category: None,
        }
    }

    /// In this category (a path such as `Fashion/Men/T-Shirts`).
    pub fn with_category(mut self, path: impl Into<String>) -> Self {
        self.category = Some(path.into());
        self
    }

    /// With this thumbnail.
    pub fn with_thumb(mut self, thumb: impl Into<String>) -> Self {
        self.thumb = thumb.into();
        self
    }

    /// With this description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// With the attribute `key` set to `value`.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// Input of [`ProductService::update`]: absent fields stay as they are; `attributes` are
/// merged key by key into the stored ones (a `null` value leaves that key unchanged) and the
/// result is re-validated by the product's kind. The kind and the stock cannot be changed here
/// (stock changes go through the inventory).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductPatch {
    /// New name.
    pub name: Option<String>,
    /// New thumbnail.
    pub thumb: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New price.
    pub price: Option<Money>,
    /// Attributes to merge.
    pub attributes: Option<Map<String, Value>>,
    /// New variations.
    pub variations: Option<Vec<Value>>,
    /// New category path.
    pub category: Option<String>,
}

/// The product use cases.
#[derive(Clone, Debug)]
pub struct ProductService {
    pub(super) backend: Backend,
    pub(super) config: Arc<EcomConfig>,
    /// Recent catalogue answers, when [`EcomConfig::catalogue_cache`] is set.
    pub(super) cache: Option<Arc<CatalogueCache>>,
}

impl ProductService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        let cache = CatalogueCache::of(&config);
        ProductService {
            backend,
            config,
            cache,
        }
    }

    /// Creates a draft product of `shop` and its inventory holding `input.stock`.
    pub async fn create(&self, shop: &ShopId, input: NewProduct) -> Result<Product> {
        let kind = self.config.kinds.get(input.kind.trim())?.clone();
        let name = validate::text("name", &input.name, MAX_NAME)?;
        let thumb = validate::text("thumb", &input.thumb, MAX_THUMB)?;
        let description =
            validate::optional_text("description", &input.description, MAX_DESCRIPTION)?;
        let price = self.price(input.price)?;
        let quantity = validate::quantity("stock", input.stock)?;
        let attributes = attributes(kind.as_ref(), input.attributes)?;
        let variations = variations(input.variations)?;
        let category = input.category.as_deref().map(category_path).transpose()?;
        let now = self.backend.clock.now();
        let id = ProductId::generate();
        let product = Product {
            search_terms: search_terms(kind.as_ref(), &name, &description, &attributes),
            slug: validate::slug(&name),
            id: id.clone(),
            shop_id: shop.clone(),
            name,
            thumb,
            description,
            price,
            quantity,
            kind: kind.name().to_owned(),
            attributes,
            rating: INITIAL_RATING,
            variations,
            category,
            sold: 0,
            is_draft: true,
            is_published: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        // Inventory first: a crash in between leaves an unreachable inventory, never a product
        // that cannot be bought.
        self.backend
            .inventory
            .insert(&Inventory {
                product_id: id,
                shop_id: shop.clone(),
                location: String::new(),
                stock: u64::from(quantity),
                sold: 0,
                reservations: Vec::new(),
                created_at: now,
                updated_at: now,
            })
            .await?;
        let inserted = self.backend.products.insert(&product).await;
        self.changed();
        if let Err(e) = inserted {
            // Leave nothing behind: the inventory goes again (best effort: a crash right here
            // leaves an unreachable inventory, never a product that cannot be bought).
            if let Err(undo) = self.backend.inventory.delete(&product.id).await {
                tracing::warn!(product_id = %product.id, error = %undo, "an orphan inventory was left");
            }
            return Err(e);
        }
        Ok(product)
    }

    /// Applies `patch` to a product of `shop`. [`Error::NotFound`] for another shop's product.
    pub async fn update(
        &self,
        shop: &ShopId,
        id: &ProductId,
        patch: ProductPatch,
    ) -> Result<Product> {
        let current = self.owned(shop, id).await?;
        let kind = self.config.kinds.get(&current.kind)?.clone();
        let mut next = current.clone();
        if let Some(name) = &patch.name {
            next.name = validate::text("name", name, MAX_NAME)?;
            next.slug = validate::slug(&next.name);
        }
        if let Some(thumb) = &patch.thumb {
            next.thumb = validate::text("thumb", thumb, MAX_THUMB)?;
        }
        if let Some(description) = &patch.description {
            next.description =
                validate::optional_text("description", description, MAX_DESCRIPTION)?;
        }
        if let Some(price) = patch.price {
            next.price = self.price(price)?;
        }
        if let Some(changes) = patch.attributes {
            let mut merged = next.attributes.clone();
            for (key, value) in changes {
                if !value.is_null() {
                    merged.insert(key, value);
                }
            }
            next.attributes = attributes(kind.as_ref(), merged)?;
        }
        if let Some(variations_in) = patch.variations {
            next.variations = variations(variations_in)?;
        }
        if let Some(category) = &patch.category {
            next.category = Some(category_path(category)?);
        }
        next.search_terms = search_terms(
            kind.as_ref(),
            &next.name,
            &next.description,
            &next.attributes,
        );
        self.save(next, current.version).await
    }

    /// Makes a product of `shop` public.
    pub async fn publish(&self, shop: &ShopId, id: &ProductId) -> Result<Product> {
        self.set_published(shop, id, true).await
    }

    /// Takes a product of `shop` back to draft.
    pub async fn unpublish(&self, shop: &ShopId, id: &ProductId) -> Result<Product> {
        self.set_published(shop, id, false).await
    }

    /// A product as `viewer` may see it: published ones for everyone, drafts for their owner.
    pub async fn get(&self, id: &ProductId, viewer: Option<&ShopId>) -> Result<Product> {
        let product = self
            .backend
            .products
            .get(id)
            .await?
            .filter(|p| p.is_published || Some(&p.shop_id) == viewer)
            .ok_or_else(|| Error::not_found("product"))?;
        self.with_one_sold(product).await
    }

    /// The shop's drafts, most recently updated first.
    pub async fn list_drafts(&self, shop: &ShopId, page: Page) -> Result<Vec<Product>> {
        self.shop_list(shop, false, page).await
    }

    /// The shop's published products, most recently updated first.
    pub async fn list_published_of_shop(&self, shop: &ShopId, page: Page) -> Result<Vec<Product>> {
        self.shop_list(shop, true, page).await
    }

    /// Every published product, sorted and paged ([`Self::browse`] without filters).
    pub async fn list_public(&self, sort: ProductSort, page: Page) -> Result<Vec<Product>> {
        let query = CatalogueQuery {
            sort,
            page,
            ..CatalogueQuery::default()
        };
        Ok(self.browse(&query).await?.products)
    }

    /// The product `id` if `shop` owns it, else [`Error::NotFound`].
    pub async fn owned(&self, shop: &ShopId, id: &ProductId) -> Result<Product> {
        self.backend
            .products
            .get(id)
            .await?
            .filter(|p| &p.shop_id == shop)
            .ok_or_else(|| Error::not_found("product"))
    }

    async fn shop_list(&self, shop: &ShopId, published: bool, page: Page) -> Result<Vec<Product>> {
        let list = self
            .backend
            .products
            .list(&ProductQuery {
                filter: ProductFilter::Shop {
                    shop_id: shop.clone(),
                    published,
                },
                sort: ProductSort::RecentlyUpdated,
                page,
            })
            .await?;
        self.with_sold(list).await
    }

    async fn set_published(
        &self,
        shop: &ShopId,
        id: &ProductId,
        published: bool,
    ) -> Result<Product> {
        let current = self.owned(shop, id).await?;
        let mut next = current.clone();
        next.is_published = published;
        next.is_draft = !published;
        self.save(next, current.version).await
    }

    async fn save(&self, mut next: Product, expected_version: u64) -> Result<Product> {
        next.version = expected_version + 1;
        next.updated_at = self.backend.clock.now();
        let replaced = self.backend.products.replace(&next, expected_version).await;
        self.changed();
        replaced?;
        self.with_one_sold(next).await
    }

    /// A product changed: recent catalogue answers no longer hold.
    fn changed(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    async fn with_one_sold(&self, product: Product) -> Result<Product> {
        let mut one = self.with_sold(vec![product]).await?;
        one.pop().ok_or_else(|| Error::not_found("product"))
    }

    fn price(&self, price: Money) -> Result<Money> {
        let price = price.checked_input(self.config.currency, "price")?;
        if price.minor <= 0 {
            return Err(Error::validation("price", "must be greater than 0"));
        }
        Ok(price)
    }
}

/// Attributes as the kind normalizes them, checked to be storable the same way everywhere.
fn attributes(kind: &dyn ProductKind, input: Map<String, Value>) -> Result<Map<String, Value>> {
    let normalized = kind.normalize(input)?;
    for (key, value) in &normalized {
        let one = Value::Object(Map::from_iter([(key.clone(), value.clone())]));
        validate::plain_json("attributes", &one)?;
    }
    Ok(normalized)
}

fn variations(input: Vec<Value>) -> Result<Vec<Value>> {
    if input.len() > MAX_VARIATIONS {
        return Err(Error::validation(
            "variations",
            format!("at most {MAX_VARIATIONS}"),
        ));
    }
    input
        .iter()
        .try_for_each(|v| validate::plain_json("variations", v))?;
    Ok(input)
}

fn search_terms(
    kind: &dyn ProductKind,
    name: &str,
    description: &str,
    attributes: &Map<String, Value>,
) -> Vec<String> {
    let mut text = format!("{name} {description}");
    for term in kind.search_terms(attributes) {
        text.push(' ');
        text.push_str(&term);
    }
    let mut tokens = search::tokens(&text);
    tokens.truncate(search::MAX_TOKENS);
    tokens
}
