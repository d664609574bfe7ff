//! # ecom-mongo
//!
//! MongoDB implementations of every repository port of [`ecom_core`], on the official
//! [`mongodb`] 3.x driver. [`backend`] bundles them into an [`ecom_core::Backend`];
//! [`connect`] also opens the client and creates the indexes.
//!
//! ```no_run
//! use ecom_core::{Ecom, EcomConfig, Secret};
//!
//! # async fn run() -> ecom_core::Result<()> {
//! let backend = ecom_mongo::connect("mongodb://127.0.0.1:27017", "ecom").await?;
//! let ecom = Ecom::new(backend, EcomConfig::new(Secret::random()));
//! let stock = ecom.backend().inventory.get(&ecom_core::id::ProductId::generate()).await?;
//! assert!(stock.is_none());
//! # Ok(())
//! # }
//! ```
//!
//! Or, with a [`mongodb::Database`] you already have:
//!
//! ```no_run
//! # async fn run(db: mongodb::Database) -> ecom_core::Result<()> {
//! ecom_mongo::ensure_indexes(&db).await?;
//! let backend = ecom_mongo::backend(db);
//! # let _ = backend;
//! # Ok(())
//! # }
//! ```
//!
//! ## Data layout
//!
//! | collection    | one document per | `_id`        | notes |
//! |---------------|------------------|--------------|-------|
//! | `Shops`       | shop account     | account id   | unique `email` |
//! | `Customers`   | customer account | account id   | unique `email` |
//! | `Keys`        | login session    | session id   | indexed by `accountId` |
//! | `apiKeys`     | API key          | key id       | unique `keyHash` (HMAC, never the clear key) |
//! | `Products`    | product          | product id   | see *Catalogue indexes*; `models` (each with its `modelId`); derived `searchPrefixes`, `categoryPaths`, `prices` (every model's, or the product's one), `priceMax`; `sold` copied for the best-selling sort |
//! | `Inventories` | a product's or a model's stock | product or model id | `stock`, `sold`, open `holds` only; `modelOf` (a model's product; index `models_of_product`: units sold and stock per product); by `holds.at`; by `(stock, shopId)` (the sold-out records an in-stock filter leaves out); `adjustSeq` and the journal `adjusting` (see `inventory`) |
//! | `StockAdjustments` | stock adjustment | adjustment id | by `(productId, seq desc)` (newest first); the newest 1,000 per product |
//! | `Carts`       | cart             | cart id      | unique `customerId` among `state: "active"`; lines keyed by `stockId` (the model's id, or the product's) |
//! | `Discounts`   | discount code    | discount id  | unique `(shopId, code)` among `isActive: true`; `uses`, `left`, open uses only; by `open.at` |
//! | `DiscountUses`| (code, customer) | `code:customer` | the orders holding the customer's uses (at most `max_uses_per_user`) |
//! | `webhook_endpoints` | webhook endpoint | endpoint id | `ownerKey` (shop id or `platform`); by `(ownerKey, enabled)` |
//! | `webhook_deliveries` | (endpoint, event) delivery | delivery id | unique `(endpoint_id, event_id)`; due ones by `due` (pending only); chains by `(endpoint_id, status, orderKey, cursor)`; lists by `(endpoint_id[, status], _id desc)`; finished ones expire `expiresAt` (TTL, 7 days) |
//! | `Orders`      | order, or a voided order id | order id | by `(customerId, createdAt)`; unique `(customerId, idempotencyKey)`; by `returning.deadline`; by `(lines.shop_id, createdAt)` (the seller desk; its line-status and payment-status filters read within it); by `paymentDue` (unpaid online orders by expiry, refunds due; only those) |
//!
//! Ids are the 32-hex-character strings core generates. Money is
//! `{ minor: <i64 minor units>, currency: "USD" }`. Timestamps are fixed-width RFC 3339 text
//! with nanoseconds (`2025-01-31T09:30:00.123456789Z`): BSON dates hold only milliseconds,
//! and the text sorts in time order.
//!
//! ## Catalogue indexes
//!
//! Every filter and sort of the public catalogue reads through an index of `Products`:
//!
//! | index | keys | serves |
//! |---|---|---|
//! | `published_newest` | `isPublished, createdAt -1, _id -1` | the default listing, `sort=ctime` |
//! | `published_price` | `isPublished, price.minor, _id -1` | `sort=price_asc|price_desc` (the lowest model price) |
//! | `published_prices` | `prices, isPublished` | `min_price`/`max_price`: any model's price in the range (multikey) |
//! | `published_sold` | `isPublished, sold -1, _id -1` | `sort=best_selling` |
//! | `category_newest` | `categoryPaths, isPublished, createdAt -1, _id -1` | `category` (a path and its subtree: each product lists its category and every one above) |
//! | `shop_newest` | `shopId, isPublished, createdAt -1, _id -1` | `shop`, storefronts and their counts |
//! | `kind_newest` | `kind, isPublished, createdAt -1, _id -1` | `type` |
//! | `search_terms` | `searchTerms, isPublished` | `q`: whole words (multikey) |
//! | `search_prefixes` | `searchPrefixes, isPublished` | `q`: the last word as a prefix (multikey) |
//! | `shop_draft_updated` | `shopId, isDraft, updatedAt -1, _id -1` | a shop's own drafts and published lists |
//! | `published_id` | `isPublished, _id` | the catalogue read model's paged load (`published_after`) |
//! | `changed_seconds` | `changedSecond, changedAt` | the read model's polls (`changed_since`): every write stamps both; a poll asks for each second of its window by equality |
//!
//! With the read model on (the default), the queries above serve only the store path
//! (`catalogue_index` off) and a shop's own lists. `x-total-count` is a count over the same filter; facets are one aggregation (`$facet`) over
//! it; relevance is computed by the server over the keyword matches (`$addFields`, `$sort`).
//! `in_stock` is a condition on the product's own `inStock` flag, which the services keep from
//! its stock records (`record_stock`, with the units sold): its cost does not grow with the
//! number of sold-out products.
//!
//! ## Consistency
//!
//! Every conditional write (stock holds, code uses, refresh-token rotation, compare-and-set
//! replaces, cart changes, order inserts and voids) is one single-document write whose filter
//! (or unique index) carries the guard, so the ports' contracts hold on a standalone server as
//! on a replica set; no multi-document transaction is used. A code use touches two documents
//! (the code's count, then the customer's uses), in an order that lets recovery finish either
//! half (see `discounts`). A stock adjustment changes the stock and journals its record in
//! one write of the stock document, then copies the record into `StockAdjustments`; whoever
//! touches the product's adjustments next finishes a copy left half-way (see `inventory`).
//! Writes are journaled unless the database sets its own write concern.
//!
//! ## Errors
//!
//! A duplicate key is [`ecom_core::Error::AlreadyExists`] (named for its entity by the
//! adapter; the wording clients see is the core's); an unreachable server, a timeout or a
//! failover is [`ecom_core::Error::Unavailable`]; anything else is
//! [`ecom_core::Error::Backend`], whose source (with the driver's text) is for logs only.
//!
//! ## Tests
//!
//! The feature `testkit` adds the module `ecom_mongo::testkit`: a MongoDB for tests and a fresh
//! database per test. It is meant for test code only.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accounts;
mod api_keys;
mod carts;
mod collection;
mod discounts;
mod error;
mod events;
mod inventory;
mod key_stores;
mod orders;
mod products;
mod timestamp;
mod webhooks;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use accounts::MongoAccounts;
pub use api_keys::MongoApiKeys;
pub use carts::MongoCarts;
pub use discounts::MongoDiscounts;
pub use events::{MongoEvents, MongoOutboxes};
pub use inventory::MongoInventory;
pub use key_stores::MongoKeyStores;
pub use orders::MongoOrders;
pub use products::MongoProducts;
pub use webhooks::MongoWebhooks;

use ecom_core::clock::SystemClock;
use ecom_core::in_process::{MemoryGate, MemoryLock};
use ecom_core::{Backend, Result};
use error::to_core;
use mongodb::{Client, Database, IndexModel};
use std::sync::Arc;

/// Every repository port on `db`, with the in-process [`MemoryLock`] and [`MemoryGate`] and the
/// system clock.
///
/// Swap the lock and gate for shared ones (`Backend::with_lock`, `Backend::with_gate`) when
/// several processes serve the same database (an in-process gate stays safe, since the store's
/// conditional decrement is the final guard, but admits per process). Call [`ensure_indexes`] once before use (as [`connect`] does): the unique indexes
/// are part of the contracts.
pub fn backend(db: Database) -> Backend {
    Backend {
        accounts: Arc::new(MongoAccounts::new(&db)),
        key_stores: Arc::new(MongoKeyStores::new(&db)),
        api_keys: Arc::new(MongoApiKeys::new(&db)),
        products: Arc::new(MongoProducts::new(&db)),
        inventory: Arc::new(MongoInventory::new(&db)),
        carts: Arc::new(MongoCarts::new(&db)),
        discounts: Arc::new(MongoDiscounts::new(&db)),
        orders: Arc::new(MongoOrders::new(&db)),
        events: Arc::new(MongoEvents::new(&db, ecom_core::event::RETENTION)),
        outboxes: Arc::new(MongoOutboxes::new(&db)),
        webhooks: Arc::new(MongoWebhooks::new(
            &db,
            ecom_core::service::DELIVERY_RETENTION,
        )),
        lock: Arc::new(MemoryLock::default()),
        gate: Arc::new(MemoryGate::default()),
        clock: Arc::new(SystemClock),
    }
}

/// Connects to `uri`, creates the indexes in database `db_name`, and returns its [`backend`].
///
/// [`ecom_core::Error::Unavailable`] if the server cannot be reached.
pub async fn connect(uri: &str, db_name: &str) -> Result<Backend> {
    let client = Client::with_uri_str(uri).await.map_err(to_core)?;
    let db = client.database(db_name);
    ensure_indexes(&db).await?;
    Ok(backend(db))
}

/// Creates every index the adapters rely on. Idempotent: creating an index that exists with the
/// same keys and options changes nothing, so it is safe to run at every start.
///
/// The unique ones enforce contracts: one email per account kind, one API key per hash, one
/// active discount per (shop, code), one active cart per customer, one checkout per
/// (customer, idempotency key).
pub async fn ensure_indexes(db: &Database) -> Result<()> {
    let with_outbox = |mut indexes: Vec<IndexModel>| {
        indexes.push(events::outbox_index());
        indexes
    };
    let sets: [(&str, Vec<IndexModel>); 13] = [
        (accounts::SHOPS, accounts::indexes()),
        (accounts::CUSTOMERS, accounts::indexes()),
        (key_stores::KEYS, key_stores::indexes()),
        (api_keys::API_KEYS, api_keys::indexes()),
        (products::PRODUCTS, with_outbox(products::indexes())),
        (inventory::INVENTORIES, with_outbox(inventory::indexes())),
        (inventory::ADJUSTMENTS, inventory::adjustment_indexes()),
        (carts::CARTS, carts::indexes()),
        (discounts::DISCOUNTS, with_outbox(discounts::indexes())),
        (orders::ORDERS, with_outbox(orders::indexes())),
        (events::EVENTS, events::indexes()),
        (webhooks::ENDPOINTS, webhooks::endpoint_indexes()),
        (webhooks::DELIVERIES, webhooks::delivery_indexes()),
    ];
    for (collection, indexes) in sets {
        db.collection::<bson::Document>(collection)
            .create_indexes(indexes)
            .await
            .map_err(to_core)?;
    }
    Ok(())
}
