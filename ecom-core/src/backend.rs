//! The `Backend` bundle: one handle to every port.

use crate::account::AccountRepo;
use crate::api_key::ApiKeyRepo;
use crate::cart::CartRepo;
use crate::clock::Clock;
use crate::discount::DiscountRepo;
use crate::event::{EventRepo, OutboxRepo};
use crate::gate::StockGate;
use crate::inventory::InventoryRepo;
use crate::key_store::KeyStoreRepo;
use crate::lock::DistributedLock;
use crate::order::OrderRepo;
use crate::product::ProductRepo;
use crate::webhook::WebhookRepo;
use std::sync::Arc;

/// Every port ecom's services use. Cheap to clone (all `Arc`s).
///
/// Built by `ecom_core::memory::backend()` or an adapter crate; swap single ports (a Redis lock,
/// a test clock) by assigning the field.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Shops and customers.
    pub accounts: Arc<dyn AccountRepo>,
    /// Login sessions.
    pub key_stores: Arc<dyn KeyStoreRepo>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyRepo>,
    /// Products.
    pub products: Arc<dyn ProductRepo>,
    /// Stock.
    pub inventory: Arc<dyn InventoryRepo>,
    /// Carts.
    pub carts: Arc<dyn CartRepo>,
    /// Discount codes.
    pub discounts: Arc<dyn DiscountRepo>,
    /// Orders.
    pub orders: Arc<dyn OrderRepo>,
    /// The log of events.
    pub events: Arc<dyn EventRepo>,
    /// The outboxes of orders, products, stock records and codes (events waiting for the
    /// relay).
    pub outboxes: Arc<dyn OutboxRepo>,
    /// Webhook endpoints and deliveries.
    pub webhooks: Arc<dyn WebhookRepo>,
    /// The lock used by lock-based checkout strategies.
    pub lock: Arc<dyn DistributedLock>,
    /// The stock gate used by the gate checkout strategy (and kept in step by the others).
    pub gate: Arc<dyn StockGate>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

impl Backend {
    /// This backend with `clock` as its time source.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// This backend with `gate` as its stock gate.
    pub fn with_gate(mut self, gate: Arc<dyn StockGate>) -> Self {
        self.gate = gate;
        self
    }

    /// This backend with `lock` as its lock.
    pub fn with_lock(mut self, lock: Arc<dyn DistributedLock>) -> Self {
        self.lock = lock;
        self
    }
}
