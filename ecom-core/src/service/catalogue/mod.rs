//! The public catalogue: filtered, sorted and counted listings, facets, the category tree,
//! keyword search and shop storefronts; and keeping each product's units sold.

pub(crate) mod cache;
mod index;
mod query;
pub mod read_model;
pub(crate) mod sold;

pub use query::{CatalogueQuery, Listing, Storefront};
pub use sold::CatalogueRebuild;

use crate::account::AccountKind;
use crate::backend::Backend;
use crate::category::{category_path, tree, CategoryNode};
use crate::error::{Error, Result};
use crate::id::{AccountId, ShopId};
use crate::money::Money;
use crate::page::Page;
use crate::product::{CatalogueFilter, Facets, Product, ProductFilter, ProductQuery, ProductSort};
use crate::search::SearchWords;
use crate::service::config::EcomConfig;
use cache::CatalogueCache;
use read_model::ReadModel;
use sold::with_sold;
use std::sync::Arc;

/// The public catalogue: listings, facets, the category tree, search and storefronts. Cheap
/// to clone.
#[derive(Clone, Debug)]
pub struct CatalogueService {
    backend: Backend,
    config: Arc<EcomConfig>,
    /// Recent answers, when [`EcomConfig::catalogue_cache`] is set (shared with the product
    /// service, whose writes clear it).
    cache: Option<Arc<CatalogueCache>>,
    /// The in-process read model, when [`EcomConfig::catalogue_index`] is set.
    read_model: Option<Arc<ReadModel>>,
}

impl CatalogueService {
    pub(crate) fn new(
        backend: Backend,
        config: Arc<EcomConfig>,
        cache: Option<Arc<CatalogueCache>>,
        read_model: Option<Arc<ReadModel>>,
    ) -> Self {
        CatalogueService {
            backend,
            config,
            cache,
            read_model,
        }
    }

    /// Rebuilds what the catalogue keeps of stock on the products (units sold, the in-stock
    /// and low-stock flags) from their stock records, for every published product, and
    /// reports how many disagreed (`ecom-server catalogue rebuild`). What every process's read
    /// model holds follows within its staleness bound; the rest of the read model (counters,
    /// the search index, the orders) is rebuilt from the products by every process at start.
    pub async fn rebuild(&self) -> Result<CatalogueRebuild> {
        sold::rebuild(&self.backend).await
    }

    /// Loads the read model now (when there is one), so the first request does not wait for
    /// it; otherwise does nothing.
    pub async fn warm(&self) -> Result<()> {
        if let Some(model) = &self.read_model {
            model.read(|_| ()).await?;
        }
        Ok(())
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

    /// Published products `query` selects, sorted and paged, with the number of matches.
    pub async fn browse(&self, query: &CatalogueQuery) -> Result<Listing> {
        match &self.cache {
            Some(cache) => {
                cache
                    .listing(format!("{query:?}"), self.browse_store(query))
                    .await
            }
            None => self.browse_store(query).await,
        }
    }

    async fn browse_store(&self, query: &CatalogueQuery) -> Result<Listing> {
        let filter = self.catalogue_filter(query).await?;
        let after = query.after.as_ref();
        if let Some(model) = &self.read_model {
            let (page, total) = model
                .read(|index| index.listing(&filter, query.sort, query.page, after))
                .await?;
            // Units sold and the in-stock flag as last recorded on the products (refreshed
            // after every settlement batch): no store read per listing.
            let products: Vec<Product> = page.iter().map(|p| Product::clone(p)).collect();
            return Ok(Listing::of(filter, query, products, total));
        }
        let store_query = ProductQuery {
            filter: ProductFilter::Catalogue(filter.clone()),
            sort: query.sort,
            page: query.page,
            after: after.cloned(),
        };
        let (products, total) = tokio::join!(
            self.backend.products.list(&store_query),
            self.backend.products.count(&store_query.filter)
        );
        let products = with_sold(&self.backend, products?).await?;
        Ok(Listing::of(filter, query, products, total?))
    }

    /// Counts of the products `query` selects by category, kind and shop, and their prices.
    pub async fn facets(&self, query: &CatalogueQuery) -> Result<Facets> {
        // Paging and order do not change facets: one answer for every page and sort.
        let query = CatalogueQuery {
            sort: ProductSort::default(),
            page: Page::default(),
            ..query.clone()
        };
        let load = async {
            let filter = self.catalogue_filter(&query).await?;
            match &self.read_model {
                Some(model) => model.read(|index| index.facets(&filter)).await,
                None => self.backend.products.facets(&filter).await,
            }
        };
        match &self.cache {
            Some(cache) => cache.facets(format!("{query:?}"), load).await,
            None => load.await,
        }
    }

    /// The tree of categories holding published products, each with its count (products in it
    /// or under it).
    pub async fn categories(&self) -> Result<Vec<CategoryNode>> {
        let load = async {
            let all = CatalogueFilter::default();
            let facets = match &self.read_model {
                Some(model) => model.read(|index| index.facets(&all)).await?,
                None => self.backend.products.facets(&all).await?,
            };
            Ok(tree(&facets.categories))
        };
        match &self.cache {
            Some(cache) => cache.categories(load).await,
            None => load.await,
        }
    }

    /// Published products matching the words of `text` ([`crate::search`]), most words
    /// matched first, then newest. No word is a validation error on `q`.
    pub async fn search(&self, text: &str, page: Page) -> Result<Listing> {
        let query = CatalogueQuery {
            q: Some(text.to_owned()),
            sort: ProductSort::Relevance,
            page,
            ..CatalogueQuery::default()
        };
        if SearchWords::parse(text)?.is_none() {
            return Err(Error::validation("q", "must contain a word"));
        }
        self.browse(&query).await
    }

    /// The storefront of `shop`; [`Error::NotFound`] if there is no such shop.
    pub async fn storefront(&self, shop: &ShopId) -> Result<Storefront> {
        let account = self.shop_account(shop).await?;
        let filter = CatalogueFilter {
            shop: Some(shop.clone()),
            ..CatalogueFilter::default()
        };
        let product_count = match &self.read_model {
            Some(model) => model.read(|index| index.count(&filter)).await?,
            None => {
                self.backend
                    .products
                    .count(&ProductFilter::Catalogue(filter))
                    .await?
            }
        };
        Ok(Storefront {
            id: shop.clone(),
            name: account.name,
            product_count,
            created_at: account.created_at,
        })
    }

    /// [`Self::browse`] of one shop's published products (a `shop` in `query` other than
    /// `shop` matches nothing); [`Error::NotFound`] if there is no such shop.
    pub async fn browse_shop(&self, shop: &ShopId, query: &CatalogueQuery) -> Result<Listing> {
        self.shop_account(shop).await?;
        if query.shop.as_ref().is_some_and(|other| other != shop) {
            // Still refuse what is malformed, as for any other listing.
            self.catalogue_filter(query).await?;
            return Ok(Listing {
                products: Vec::new(),
                total: 0,
                next: None,
            });
        }
        let query = CatalogueQuery {
            shop: Some(shop.clone()),
            ..query.clone()
        };
        self.browse(&query).await
    }

    async fn shop_account(&self, shop: &ShopId) -> Result<crate::account::Account> {
        self.backend
            .accounts
            .get(AccountKind::Shop, &AccountId::from(shop.clone()))
            .await?
            .filter(|a| a.active)
            .ok_or_else(|| Error::not_found("shop"))
    }

    async fn catalogue_filter(&self, query: &CatalogueQuery) -> Result<CatalogueFilter> {
        let currency = self.config.currency;
        let price = |m: Option<Money>, field: &str| -> Result<Option<i64>> {
            m.map(|m| {
                let m = m.checked_input(currency, field)?;
                if m.minor < 0 {
                    return Err(Error::validation(field, "must not be negative"));
                }
                Ok(m.minor)
            })
            .transpose()
        };
        let min_price = price(query.min_price, "min_price")?;
        let max_price = price(query.max_price, "max_price")?;
        if let (Some(min), Some(max)) = (min_price, max_price) {
            if min > max {
                return Err(Error::validation(
                    "min_price",
                    "must not be above max_price",
                ));
            }
        }
        let kind = match &query.kind {
            Some(k) => Some(
                self.config
                    .kinds
                    .get(k.trim())
                    .map_err(|_| Error::validation("type", "is not a known product type"))?
                    .name()
                    .to_owned(),
            ),
            None => None,
        };
        let words = match &query.q {
            Some(q) => SearchWords::parse(q)?,
            None => None,
        };

        Ok(CatalogueFilter {
            category: query.category.as_deref().map(category_path).transpose()?,
            shop: query.shop.clone(),
            kind,
            min_price,
            max_price,
            words,
            in_stock: query.in_stock,
        })
    }
}
