//! Products: create (with inventory), partial update, publish, lists and keyword search.

use crate::backend::Backend;
use crate::category::category_path;
use crate::error::{Error, Result};
use crate::event::{Aggregate, AggregateKind, Event, EventKind};
use crate::id::{ProductId, ShopId};
use crate::inventory::Inventory;
use crate::kind::ProductKind;
use crate::money::Money;
use crate::page::Page;
use crate::product::{Product, ProductFilter, ProductQuery, ProductSort};
use crate::search;
use crate::service::catalogue::cache::CatalogueCache;
use crate::service::catalogue::sold::{refresh_stock, with_sold};
use crate::service::config::EcomConfig;
use crate::service::inventory::follow_adjustment;
use crate::validate;
use crate::variant::{self, Model, ModelInput, Offer, Variation};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Longest product name.
const MAX_NAME: usize = 200;
/// Longest thumbnail reference.
const MAX_THUMB: usize = 2048;
/// Longest description.
const MAX_DESCRIPTION: usize = 10_000;
/// Rating of a new product.
const INITIAL_RATING: f64 = 4.5;

/// Input of [`ProductService::create`]. Build one with [`NewProduct::new`] and the `with_*`
/// methods. Errors name these fields (`name`, `thumb`, `description`, `price`, `stock`, `kind`,
/// `attributes.<key>`, `variations`, `models`).
///
/// How it is offered is an [`Offer`]: one price and stock, or models with their own
/// ([`NewProduct::with_variants`]; the product then shows the lowest price and the sum of the
/// stock).
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
    /// One price and stock, or models with theirs.
    pub offer: Offer,
    /// Kind name, e.g. `Clothing` (a [`ProductKind`] of the registry).
    pub kind: String,
    /// Attributes, validated and normalized by the kind.
    pub attributes: Map<String, Value>,
    /// Category path ([`crate::category::category_path`]), if any.
    pub category: Option<String>,
    /// Free stock at or below which it is low on stock (`stock.low`); none: the configured
    /// default ([`EcomConfig::low_stock_threshold`]).
    pub low_stock_threshold: Option<u32>,
}

impl NewProduct {
    /// A product of `kind` named `name` at `price` with `stock` units, with the thumbnail
    /// `"-"`, no description, attributes or variations.
    pub fn new(name: impl Into<String>, kind: impl Into<String>, price: Money, stock: u32) -> Self {
        NewProduct {
            name: name.into(),
            thumb: "-".into(),
            description: String::new(),
            offer: Offer::Single { price, stock },
            kind: kind.into(),
            attributes: Map::new(),
            category: None,
            low_stock_threshold: None,
        }
    }

    /// A product of `kind` named `name` sold in `models` of the options of `variations`: its
    /// price and stock are the models'.
    ///
    /// ```
    /// use ecom_core::service::NewProduct;
    /// use ecom_core::variant::{ModelInput, Offer, Variation};
    /// use ecom_core::{Currency, Money};
    ///
    /// let usd = |minor| Money::new(minor, Currency::USD);
    /// let tee = NewProduct::with_variants(
    ///     "Plain tee",
    ///     "Clothing",
    ///     vec![Variation::new("Color", ["Red", "Blue"]), Variation::new("Size", ["S", "M"])],
    ///     vec![
    ///         ModelInput::new([0, 0], usd(1999), 5).with_sku("TEE-R-S"),
    ///         ModelInput::new([1, 1], usd(2199), 0),
    ///     ],
    /// );
    /// assert!(matches!(tee.offer, Offer::Models { ref models, .. } if models.len() == 2));
    /// ```
    pub fn with_variants(
        name: impl Into<String>,
        kind: impl Into<String>,
        variations: Vec<Variation>,
        models: Vec<ModelInput>,
    ) -> Self {
        NewProduct {
            offer: Offer::Models { variations, models },
            ..NewProduct::new(name, kind, Money::new(0, crate::money::Currency::USD), 0)
        }
    }

    /// In this category (a path such as `Fashion/Men/T-Shirts`).
    pub fn with_category(mut self, path: impl Into<String>) -> Self {
        self.category = Some(path.into());
        self
    }

    /// With its own low-stock threshold.
    pub fn with_low_stock_threshold(mut self, threshold: u32) -> Self {
        self.low_stock_threshold = Some(threshold);
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
///
/// For a product with models, `models` is the whole list wanted: an entry with an id keeps
/// (and may reprice, rename or re-SKU) that model, one without adds a model with its stock, and
/// a model left out is removed, unless a checkout or return holds its stock (409); its free
/// units leave by a recorded adjustment. `price` is refused for such a product (models have
/// theirs), and a product created without models cannot gain them.
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
    /// New tiers of variation (the models' options are checked against them).
    pub variations: Option<Vec<Variation>>,
    /// The models wanted (see above).
    pub models: Option<Vec<ModelInput>>,
    /// New category path.
    pub category: Option<String>,
    /// New low-stock threshold (at most [`validate::MAX_QUANTITY`]).
    pub low_stock_threshold: Option<u32>,
}

/// The product use cases.
#[derive(Clone, Debug)]
pub struct ProductService {
    backend: Backend,
    config: Arc<EcomConfig>,
    /// Recent catalogue answers, when [`EcomConfig::catalogue_cache`] is set: product writes
    /// clear them.
    cache: Option<Arc<CatalogueCache>>,
}

impl ProductService {
    pub(crate) fn new(
        backend: Backend,
        config: Arc<EcomConfig>,
        cache: Option<Arc<CatalogueCache>>,
    ) -> Self {
        ProductService {
            backend,
            config,
            cache,
        }
    }

    /// Creates a draft product of `shop` and its stock records (one, or one per model).
    pub async fn create(&self, shop: &ShopId, input: NewProduct) -> Result<Product> {
        let kind = self.config.kinds.get(input.kind.trim())?.clone();
        let name = validate::text("name", &input.name, MAX_NAME)?;
        let thumb = validate::text("thumb", &input.thumb, MAX_THUMB)?;
        let description =
            validate::optional_text("description", &input.description, MAX_DESCRIPTION)?;
        let attributes = attributes(kind.as_ref(), input.attributes)?;
        let category = input.category.as_deref().map(category_path).transpose()?;
        let (variations, models, price, quantity) = match input.offer {
            Offer::Single { price, stock } => (
                Vec::new(),
                Vec::new(),
                self.price(price)?,
                validate::quantity("stock", stock)?,
            ),
            Offer::Models { variations, models } => {
                if variations.is_empty() {
                    return Err(Error::validation(
                        "variations",
                        "models need tiers of variation",
                    ));
                }
                let variations = variant::variations(variations)?;
                kind.check_variations(&variations)?;
                let models = self.models(&variations, models, &[])?;
                let (price, quantity) = summary(&models);
                (variations, models, price, quantity)
            }
        };
        let low_stock_threshold = input
            .low_stock_threshold
            .map(validate::low_stock_threshold)
            .transpose()?;
        let low_stock_threshold = match low_stock_threshold {
            Some(own) => own,
            None => super::shop::default_threshold(&self.backend, &self.config, shop).await?,
        };
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
            models,
            category,
            sold: 0,
            in_stock: quantity > 0,
            low_stock: quantity > 0 && quantity <= low_stock_threshold,
            low_stock_threshold,
            is_draft: true,
            is_published: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        // Inventory first: a crash in between leaves an unreachable inventory, never a product
        // that cannot be bought.
        let records = match product.models.is_empty() {
            true => vec![record(shop, &id, None, quantity, now)],
            false => product
                .models
                .iter()
                .map(|m| record(shop, &m.id, Some(&id), m.stock, now))
                .collect(),
        };
        self.insert_records(&records).await?;
        let inserted = self.backend.products.insert(&product).await;
        self.changed();
        if let Err(e) = inserted {
            // Leave nothing behind: the inventory goes again (best effort: a crash right here
            // leaves an unreachable inventory, never a product that cannot be bought).
            self.delete_records(&records).await;
            return Err(e);
        }
        Ok(product)
    }

    /// Inserts stock records, all or none (those inserted go again on a failure).
    async fn insert_records(&self, records: &[Inventory]) -> Result<()> {
        for (done, record) in records.iter().enumerate() {
            if let Err(e) = self.backend.inventory.insert(record).await {
                self.delete_records(&records[..done]).await;
                return Err(e);
            }
        }
        Ok(())
    }

    async fn delete_records(&self, records: &[Inventory]) {
        for record in records {
            if let Err(undo) = self.backend.inventory.delete(&record.product_id).await {
                tracing::warn!(stock_id = %record.product_id, error = %undo, "an orphan inventory was left");
            }
        }
    }

    /// The models `inputs` describe against `tiers`; `current` are the product's models now
    /// (an input with an id must name one of them). Errors name `models`.
    fn models(
        &self,
        tiers: &[Variation],
        inputs: Vec<ModelInput>,
        current: &[Model],
    ) -> Result<Vec<Model>> {
        if inputs.is_empty() || inputs.len() > variant::MAX_OPTIONS * variant::MAX_OPTIONS {
            return Err(Error::validation("models", "must hold at least one model"));
        }
        let models = inputs
            .into_iter()
            .map(|input| {
                let stock = match &input.id {
                    Some(id) => {
                        let old = current.iter().find(|m| &m.id == id).ok_or_else(|| {
                            Error::validation("models", "model_id names no model of this product")
                        })?;
                        if input.stock.is_some() {
                            return Err(Error::validation(
                                "models",
                                "an existing model's stock changes through the inventory",
                            ));
                        }
                        old.stock
                    }
                    None => {
                        let stock = input.stock.unwrap_or(0);
                        if stock > validate::MAX_QUANTITY {
                            return Err(Error::validation(
                                "models",
                                format!("stock must be at most {}", validate::MAX_QUANTITY),
                            ));
                        }
                        stock
                    }
                };
                Ok(Model {
                    id: input.id.unwrap_or_else(ProductId::generate),
                    name: variant::model_name(tiers, &input.tier_index)?,
                    tier_index: input.tier_index,
                    price: self
                        .price(input.price)
                        .map_err(|e| e.rename_fields(&[("price", "models")]))?,
                    stock,
                    sku: input.sku.as_deref().map(variant::sku).transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        variant::distinct(&models)?;
        Ok(models)
    }

    /// Applies a patch's tiers and models to `next` (a product with models): new models' stock
    /// records are inserted; returns them, and the models removed.
    async fn patch_models(
        &self,
        kind: &dyn ProductKind,
        next: &mut Product,
        patch_variations: Option<Vec<Variation>>,
        patch_models: Option<Vec<ModelInput>>,
    ) -> Result<(Vec<Inventory>, Vec<Model>)> {
        if patch_variations.is_none() && patch_models.is_none() {
            return Ok((Vec::new(), Vec::new()));
        }
        if next.models.is_empty() {
            return Err(Error::validation(
                "models",
                "a product created without models cannot gain them",
            ));
        }
        let tiers = match patch_variations {
            Some(tiers) => variant::variations(tiers)?,
            None => next.variations.clone(),
        };
        kind.check_variations(&tiers)?;
        let inputs =
            patch_models.unwrap_or_else(|| next.models.iter().map(ModelInput::keep).collect());
        let models = self.models(&tiers, inputs, &next.models)?;
        let removed: Vec<Model> = next
            .models
            .iter()
            .filter(|old| !models.iter().any(|m| m.id == old.id))
            .cloned()
            .collect();
        let now = self.backend.clock.now();
        let added: Vec<Inventory> = models
            .iter()
            .filter(|m| !next.models.iter().any(|old| old.id == m.id))
            .map(|m| record(&next.shop_id, &m.id, Some(&next.id), m.stock, now))
            .collect();
        (next.price, next.quantity) = summary(&models);
        next.variations = tiers;
        next.models = models;
        Ok((added, removed))
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
            if !next.models.is_empty() {
                return Err(Error::validation(
                    "price",
                    "a product with models has no price of its own: set it on the models",
                ));
            }
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
        if let Some(category) = &patch.category {
            next.category = Some(category_path(category)?);
        }
        if let Some(threshold) = patch.low_stock_threshold {
            next.low_stock_threshold = validate::low_stock_threshold(threshold)?;
        }
        next.search_terms = search_terms(
            kind.as_ref(),
            &next.name,
            &next.description,
            &next.attributes,
        );
        let (added, removed) = self
            .patch_models(kind.as_ref(), &mut next, patch.variations, patch.models)
            .await?;
        self.insert_records(&added).await?;
        // Removed models stop taking reservations before the product forgets them: a checkout
        // holding one makes the removal a 409; one arriving later finds the record retired.
        if let Err(e) = self.set_retired(&removed).await {
            self.delete_records(&added).await;
            return Err(e);
        }
        let saved = self
            .save(next, current.version, Some(EventKind::ProductUpdated))
            .await;
        if saved.is_err() {
            self.delete_records(&added).await;
            self.unretire(&removed).await;
        }
        let saved = saved?;
        for model in &removed {
            self.retire(&saved, model).await;
        }
        if !removed.is_empty() {
            refresh_stock(&self.backend, [saved.id.clone()]).await;
        }
        Ok(saved)
    }

    /// Retires the stock records of `models`, all or none: a record with open holds refuses
    /// ([`Error::Conflict`] naming the model) and the ones retired before it come back.
    async fn set_retired(&self, models: &[Model]) -> Result<()> {
        for (done, model) in models.iter().enumerate() {
            if let Err(e) = self.backend.inventory.set_retired(&model.id, true).await {
                self.unretire(&models[..done]).await;
                return Err(match e {
                    Error::Conflict { .. } => Error::refused(
                        "model",
                        format!("{} has stock held by a checkout or return", model.name),
                    ),
                    other => other,
                });
            }
        }
        Ok(())
    }

    /// Brings retired records of `models` back (undoing a removal that did not happen; best
    /// effort: logged).
    async fn unretire(&self, models: &[Model]) {
        for model in models {
            if let Err(e) = self.backend.inventory.set_retired(&model.id, false).await {
                tracing::warn!(model_id = %model.id, error = %e, "a model of a failed change stays retired");
            }
        }
    }

    /// A removed model's free units leave its stock record by a recorded adjustment (best
    /// effort: logged), so no gate sees them; units returned to it later stay off sale (the
    /// record is retired).
    async fn retire(&self, product: &Product, model: &Model) {
        let adjustment = crate::inventory::NewAdjustment {
            id: crate::id::AdjustmentId::generate(),
            product_id: model.id.clone(),
            model_id: Some(model.id.clone()),
            change: crate::inventory::StockChange::Set(0),
            reason: "model removed".to_owned(),
            by: product.shop_id.clone(),
            at: self.backend.clock.now(),
        };
        match self.backend.inventory.adjust(&adjustment).await {
            Ok(retired) => {
                let delta = retired.adjustment.delta;
                follow_adjustment(&self.backend, &model.id, delta).await;
            }
            Err(e) => {
                tracing::warn!(model_id = %model.id, error = %e, "taking a removed model's stock off failed");
            }
        }
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
                after: None,
            })
            .await?;
        with_sold(&self.backend, list).await
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
        let event = match (current.is_published, published) {
            (false, true) => Some(EventKind::ProductPublished),
            (true, false) => Some(EventKind::ProductUnpublished),
            _ => None,
        };
        self.save(next, current.version, event).await
    }

    /// Writes `next` at `expected_version`, with the event `kind` of the change (if any) in
    /// the same write.
    async fn save(
        &self,
        mut next: Product,
        expected_version: u64,
        kind: Option<EventKind>,
    ) -> Result<Product> {
        next.version = expected_version + 1;
        next.updated_at = self.backend.clock.now();
        let events: Vec<Event> = kind
            .map(|kind| product_event(kind, &next, next.updated_at))
            .into_iter()
            .collect();
        let replaced = self
            .backend
            .products
            .replace(&next, expected_version, &events)
            .await;
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
        let mut one = with_sold(&self.backend, vec![product]).await?;
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

/// The event `kind` of `product` as a change left it at `at`.
pub(crate) fn product_event(
    kind: EventKind,
    product: &Product,
    at: crate::clock::Timestamp,
) -> Event {
    Event::new(
        kind,
        at,
        Aggregate {
            kind: AggregateKind::Product,
            id: product.id.to_string(),
            version: product.version,
        },
        vec![product.shop_id.clone()],
        product,
    )
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

/// The price a product with `models` shows (the lowest) and its quantity (the sum of stock).
fn summary(models: &[Model]) -> (Money, u32) {
    let price = models
        .iter()
        .map(|m| m.price)
        .min_by_key(|m| m.minor)
        .unwrap_or_else(|| unreachable!("a product with models has at least one"));
    (price, models.iter().map(|m| m.stock).sum())
}

/// A new stock record of `id` (a product's, or a model's of `model_of`).
fn record(
    shop: &ShopId,
    id: &ProductId,
    model_of: Option<&ProductId>,
    stock: u32,
    now: crate::clock::Timestamp,
) -> Inventory {
    Inventory {
        product_id: id.clone(),
        model_of: model_of.cloned(),
        shop_id: shop.clone(),
        location: String::new(),
        stock: u64::from(stock),
        sold: 0,
        damaged: 0,
        reservations: Vec::new(),
        retired: false,
        created_at: now,
        updated_at: now,
    }
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
