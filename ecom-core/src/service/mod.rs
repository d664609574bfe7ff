//! The use cases. Services hold the business rules, talk only to ports, and are cheap to
//! clone. [`Ecom`] bundles them over one [`Backend`].
//!
//! Where things live: one file (or folder) per use case (`auth`, `product`, `catalogue`,
//! `cart`, `discount`, `checkout`, `order`, `payment`, `inventory`, `api_key`, `shop`,
//! `events`, `webhooks`); the checkout
//! saga's machinery in `checkout/` (its strategies, holds, settlement, recovery); what moves
//! an order after it is placed in `order_update` (the one compare-and-swap loop),
//! `cancellation` (stock and code uses back) and `refunds` (money back).

mod api_key;
mod auth;
mod cancellation;
mod cart;
pub(crate) mod catalogue;
pub(crate) mod checkout;
mod config;
pub(crate) mod discount;
mod events;
pub(crate) mod group_commit;
pub(crate) mod inventory;
mod lookups;
mod order;
mod order_events;
mod order_update;
mod password;
mod payment;
mod payment_stats;
mod product;
mod refunds;
mod returns;
mod shop;
mod webhooks;

pub use api_key::{ApiKeyService, NewApiKey};
pub use auth::{AuthService, LoginInput, Principal, Session, SignupInput, TokenPair};
pub use cart::{CartItem, CartService, CartUpdate};
pub use catalogue::read_model;
pub use catalogue::{CatalogueQuery, CatalogueRebuild, CatalogueService, Listing, Storefront};
pub use checkout::{
    CheckoutRequest, CheckoutReview, CheckoutService, CheckoutStrategy, PlaceOrder, RecoveryReport,
    ReviewedItem, ShopOrder, ShopReview, GIVEN_UP,
};
pub use config::{CheckoutSettings, EcomConfig};
pub use discount::{DiscountQuote, DiscountService, ItemRequest, NewDiscount};
pub use events::{EventService, EventSink, RelayReport, MAX_EVENTS_PER_READ};
pub use inventory::{GateReconcile, InventoryService, ProductStock};
pub use order::{LineStatusChange, OrderService, StatusUpdate};
pub use payment::{PaymentService, SweepReport};
pub use payment_stats::PaymentCounts;
pub use product::{NewProduct, ProductPatch, ProductService};
pub use returns::{
    DisputeOutcome, NewReturn, ReceivedLine, ReturnCounts, ReturnItem, ReturnOf, ReturnService,
    ReturnSweep, MAX_EVIDENCE, MAX_LINES, REFUND_OUTCOMES, RETURN_OUTCOMES,
};
pub use shop::{ShopService, ShopSettingsPatch};
pub use webhooks::{
    DeliverReport, DispatchReport, EndpointPatch, NewEndpoint, WebhookCounts, WebhookService,
    WebhookSettings, DELIVERY_RETENTION, MAX_DESCRIPTION_LEN,
};

use crate::backend::Backend;
use catalogue::cache::CatalogueCache;
use catalogue::read_model::ReadModel;
use payment_stats::PaymentStats;
use std::sync::Arc;

/// Every service over one backend and one configuration.
#[derive(Clone, Debug)]
pub struct Ecom {
    /// Signup, login, tokens.
    pub auth: AuthService,
    /// API keys.
    pub api_keys: ApiKeyService,
    /// Products: create, change, publish, a shop's own lists.
    pub products: ProductService,
    /// The public catalogue: listings, facets, categories, search, storefronts.
    pub catalogue: CatalogueService,
    /// Stock.
    pub inventory: InventoryService,
    /// Carts.
    pub carts: CartService,
    /// Discount codes.
    pub discounts: DiscountService,
    /// Review, place order, recovery.
    pub checkout: CheckoutService,
    /// Orders.
    pub orders: OrderService,
    /// Payments: provider callbacks, expiry of unpaid orders, refunds.
    pub payments: PaymentService,
    /// Returns after delivery: requests, the shops' decisions, disputes, the sweep.
    pub returns: ReturnService,
    /// Events: the relay, the log's reads, subscriptions and sinks.
    pub events: EventService,
    /// Shops' settings.
    pub shops: ShopService,
    /// Webhooks: endpoints, dispatch of events to them, delivery workers.
    pub webhooks: WebhookService,
    backend: Backend,
    config: Arc<EcomConfig>,
}

impl Ecom {
    /// Builds every service on `backend` with `config`.
    pub fn new(backend: Backend, config: EcomConfig) -> Self {
        let config = Arc::new(config);
        let payment_stats = Arc::new(PaymentStats::default());
        let return_stats = Arc::new(returns::stats::ReturnStats::default());
        let cache = CatalogueCache::of(&config);
        let (read_model, backend) = match config.catalogue_index {
            true => {
                let (model, counted) = ReadModel::new(backend);
                (Some(model), counted)
            }
            false => (None, backend),
        };
        Ecom {
            auth: AuthService::new(backend.clone(), config.clone()),
            api_keys: ApiKeyService::new(backend.clone(), config.clone()),
            products: ProductService::new(backend.clone(), config.clone(), cache.clone()),
            catalogue: CatalogueService::new(backend.clone(), config.clone(), cache, read_model),
            inventory: InventoryService::new(backend.clone()),
            carts: CartService::new(backend.clone()),
            discounts: DiscountService::new(backend.clone(), config.clone()),
            checkout: CheckoutService::new(backend.clone(), config.clone()),
            orders: OrderService::new(backend.clone(), config.clone(), payment_stats.clone()),
            returns: ReturnService::new(backend.clone(), config.clone(), return_stats.clone()),
            payments: PaymentService::new(backend.clone(), config.clone(), payment_stats),
            events: EventService::new(backend.clone(), config.sinks.clone(), return_stats),
            shops: ShopService::new(backend.clone()),
            webhooks: WebhookService::new(backend.clone(), config.webhooks.clone()),
            backend,
            config,
        }
    }

    /// The backend the services use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The configuration the services use.
    pub fn config(&self) -> &EcomConfig {
        &self.config
    }
}
