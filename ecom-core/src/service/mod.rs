//! The use cases. Services hold the business rules, talk only to ports, and are cheap to
//! clone. [`Ecom`] bundles them over one [`Backend`].

mod api_key;
mod auth;
mod batched;
mod cart;
mod catalogue;
mod catalogue_cache;
mod checkout;
mod config;
mod discount;
mod gate_heal;
mod group_commit;
mod holds;
mod inventory;
mod order;
mod password;
mod payment;
mod product;
mod recovery;
mod settler;

pub use api_key::{ApiKeyService, NewApiKey};
pub use auth::{AuthService, LoginInput, Principal, Session, SignupInput, TokenPair};
pub use cart::{CartItem, CartService, CartUpdate};
pub use catalogue::{CatalogueQuery, Listing, Storefront};
pub use checkout::{
    CheckoutRequest, CheckoutReview, CheckoutService, PlaceOrder, RecoveryReport, ReviewedItem,
    ShopOrder, ShopReview,
};
pub use config::{CheckoutSettings, CheckoutStrategy, EcomConfig};
pub use discount::{DiscountQuote, DiscountService, ItemRequest, NewDiscount};
pub use inventory::{GateReconcile, InventoryService, ProductStock};
pub use order::{LineStatusChange, OrderService, StatusUpdate};
pub use payment::{PaymentCounts, PaymentService, SweepReport};
pub use product::{NewProduct, ProductPatch, ProductService};

use crate::backend::Backend;
use std::sync::Arc;

/// Every service over one backend and one configuration.
#[derive(Clone, Debug)]
pub struct Ecom {
    /// Signup, login, tokens.
    pub auth: AuthService,
    /// API keys.
    pub api_keys: ApiKeyService,
    /// Products.
    pub products: ProductService,
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
    backend: Backend,
    config: Arc<EcomConfig>,
}

impl Ecom {
    /// Builds every service on `backend` with `config`.
    pub fn new(backend: Backend, config: EcomConfig) -> Self {
        let config = Arc::new(config);
        let payment_stats = Arc::new(payment::PaymentStats::default());
        Ecom {
            auth: AuthService::new(backend.clone(), config.clone()),
            api_keys: ApiKeyService::new(backend.clone(), config.clone()),
            products: ProductService::new(backend.clone(), config.clone()),
            inventory: InventoryService::new(backend.clone()),
            carts: CartService::new(backend.clone()),
            discounts: DiscountService::new(backend.clone(), config.clone()),
            checkout: CheckoutService::new(backend.clone(), config.clone()),
            orders: OrderService::new(backend.clone(), config.clone(), payment_stats.clone()),
            payments: PaymentService::new(backend.clone(), config.clone(), payment_stats),
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
