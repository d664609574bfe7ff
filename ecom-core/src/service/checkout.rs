//! Checkout: review (server-side prices and discounts) and the place-order saga with its
//! recovery. See [`crate::checkout`] for the record's states.
//!
//! The saga: 1. a repeat of an idempotency key answers with the first outcome; 2. the order is
//! reviewed again from stored products and codes; 3. a [`CheckoutRecord`] holding the complete
//! order is inserted (unique per customer and key); 4. every line is reserved, in product-id
//! order, all or nothing; 5. discounts are redeemed; 6. `Started -> Committing` (one
//! compare-and-set decides against a concurrent recovery); 7. the order is inserted, the bought
//! lines leave the cart, `Committing -> Completed`. Any failure before 6 returns everything held
//! (reservations and redemptions are keyed by the checkout id, so returning is idempotent).

use super::config::{CheckoutStrategy, EcomConfig};
use super::discount::ItemRequest;
use super::order::finish_returns;
use crate::backend::Backend;
use crate::checkout::{CheckoutFailure, CheckoutRecord, CheckoutState, Transition};
use crate::clock::Timestamp;
use crate::discount::{Discount, LineValue, Redemption};
use crate::error::{Error, Result};
use crate::gate::{Admission, GateLine};
use crate::id::{CheckoutId, CustomerId, OrderId, ProductId, ShopId};
use crate::money::Money;
use crate::order::{AppliedDiscount, CheckoutTotals, Order, OrderLine, OrderStatus};
use crate::validate::{self, MAX_QUANTITY};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Most shops in one checkout.
const MAX_SHOPS: usize = 20;
/// Most distinct products in one checkout.
const MAX_LINES: usize = 100;
/// Admission attempts before giving up (a seed in between needs two).
const GATE_ATTEMPTS: usize = 3;
/// Records handled per recovery pass.
const RECOVERY_BATCH: u32 = 100;

/// A shop's code in a checkout request (the seed's `shop_discounts` entry; `codeId` is the code).
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
pub struct ShopDiscountRequest {
    /// The shop the code belongs to.
    #[serde(rename = "shopId")]
    pub shop_id: ShopId,
    /// The code.
    #[serde(rename = "codeId")]
    pub code: String,
}

/// One shop's part of a checkout request.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
pub struct ShopOrderRequest {
    /// The shop.
    #[serde(rename = "shopId")]
    pub shop_id: ShopId,
    /// At most one code of this shop.
    #[serde(default)]
    pub shop_discounts: Vec<ShopDiscountRequest>,
    /// What to buy from it (client prices, if sent, are ignored).
    pub item_products: Vec<ItemRequest>,
}

/// A checkout request: what to buy, grouped by shop.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
pub struct CheckoutRequest {
    /// The shops' parts.
    pub shop_order_ids: Vec<ShopOrderRequest>,
}

/// Input of [`CheckoutService::place_order`].
#[derive(Clone, PartialEq, Debug)]
pub struct PlaceOrder {
    /// What to buy.
    pub request: CheckoutRequest,
    /// Shipping address (free-form JSON, stored as given).
    pub shipping: Value,
    /// Payment details (free-form JSON, stored as given).
    pub payment: Value,
    /// The client's `Idempotency-Key`; a repeat returns the first outcome. Without one every
    /// call is a new checkout.
    pub idempotency_key: Option<String>,
}

/// A line priced by the server.
#[derive(Clone, PartialEq, Debug)]
pub struct ReviewedItem {
    /// The product.
    pub product_id: ProductId,
    /// Its name.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// Stored unit price.
    pub unit_price: Money,
    /// `quantity * unit_price`.
    pub value: Money,
}

/// One shop's part, priced (the seed's `shop_order_ids_new` entry).
#[derive(Clone, PartialEq, Debug)]
pub struct ShopReview {
    /// The shop.
    pub shop_id: ShopId,
    /// Its lines.
    pub items: Vec<ReviewedItem>,
    /// Its code, if one was sent and applies.
    pub discounts: Vec<AppliedDiscount>,
    /// Sum of its lines.
    pub price_raw: Money,
    /// `price_raw` minus its discounts.
    pub price_apply_discount: Money,
}

/// The result of a review.
#[derive(Clone, PartialEq, Debug)]
pub struct CheckoutReview {
    /// Per shop.
    pub shops: Vec<ShopReview>,
    /// Totals.
    pub totals: CheckoutTotals,
}

/// What a recovery pass did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RecoveryReport {
    /// Abandoned checkouts whose stock and discount uses went back.
    pub rolled_back: u32,
    /// Abandoned checkouts whose order was completed.
    pub completed: u32,
    /// Cancelled orders whose stock and discount uses went back.
    pub returns_finished: u32,
}

/// The checkout use cases.
#[derive(Clone, Debug)]
pub struct CheckoutService {
    backend: Backend,
    config: Arc<EcomConfig>,
}

impl CheckoutService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        CheckoutService { backend, config }
    }

    /// Prices a request from stored products and the shops' codes. Nothing is written.
    pub async fn review(
        &self,
        customer: &CustomerId,
        request: &CheckoutRequest,
    ) -> Result<CheckoutReview> {
        let wanted = wanted_lines(request)?;
        let ids: Vec<ProductId> = wanted.keys().cloned().collect();
        let products = self.backend.products.get_many(&ids).await?;
        let now = self.backend.clock.now();
        let currency = self.config.currency;
        let mut shops = Vec::with_capacity(request.shop_order_ids.len());
        let mut total_price = Money::zero(currency);
        let mut total_discount = Money::zero(currency);
        for shop_order in &request.shop_order_ids {
            let mut items = Vec::new();
            let mut price_raw = Money::zero(currency);
            let mut seen = HashSet::new();
            for item in &shop_order.item_products {
                if !seen.insert(&item.product_id) {
                    continue;
                }
                let product = products
                    .iter()
                    .find(|p| p.id == item.product_id && p.is_published)
                    .ok_or_else(|| Error::not_found("product"))?;
                if product.shop_id != shop_order.shop_id {
                    return Err(Error::validation(
                        "shopId",
                        "the shop does not sell this product",
                    ));
                }
                let quantity = wanted[&item.product_id];
                let value = product.price.checked_mul(u64::from(quantity))?;
                price_raw = price_raw.checked_add(value)?;
                items.push(ReviewedItem {
                    product_id: product.id.clone(),
                    name: product.name.clone(),
                    quantity,
                    unit_price: product.price,
                    value,
                });
            }
            let mut discounts = Vec::new();
            if let Some(code) = shop_order.shop_discounts.first() {
                let discount = self.discount(&shop_order.shop_id, code).await?;
                let lines: Vec<LineValue> = items
                    .iter()
                    .map(|i| LineValue {
                        product_id: i.product_id.clone(),
                        shop_id: shop_order.shop_id.clone(),
                        value: i.value,
                    })
                    .collect();
                let amount = discount.amount(&lines, customer, now)?;
                discounts.push(AppliedDiscount {
                    shop_id: shop_order.shop_id.clone(),
                    discount_id: discount.id,
                    code: discount.code,
                    amount,
                    returned: false,
                });
            }
            let shop_discount = discounts
                .iter()
                .try_fold(Money::zero(currency), |sum, d| sum.checked_add(d.amount))?;
            total_price = total_price.checked_add(price_raw)?;
            total_discount = total_discount.checked_add(shop_discount)?;
            shops.push(ShopReview {
                shop_id: shop_order.shop_id.clone(),
                items,
                discounts,
                price_raw,
                price_apply_discount: price_raw.checked_sub(shop_discount)?,
            });
        }
        let fee_ship = Money::new(self.config.checkout.fee_ship_minor, currency);
        let total_checkout = total_price
            .checked_add(fee_ship)?
            .checked_sub(total_discount)?;
        Ok(CheckoutReview {
            shops,
            totals: CheckoutTotals {
                total_price,
                fee_ship,
                total_discount,
                total_checkout: Money::new(total_checkout.minor.max(0), currency),
            },
        })
    }

    /// Places an order: the saga described in the module docs. Out of stock for any line is
    /// [`Error::InsufficientStock`] with nothing held; a busy stock lock is [`Error::Busy`].
    pub async fn place_order(&self, customer: &CustomerId, input: PlaceOrder) -> Result<Order> {
        let key = match &input.idempotency_key {
            Some(key) => validate::idempotency_key(key)?,
            None => CheckoutId::generate().to_string(),
        };
        validate::plain_json("user_address", &input.shipping)?;
        validate::plain_json("user_payment", &input.payment)?;
        if let Some(existing) = self.backend.checkouts.find_by_key(customer, &key).await? {
            return self.outcome_of(existing).await;
        }
        let review = self.review(customer, &input.request).await?;
        let now = self.backend.clock.now();
        let checkout_id = CheckoutId::generate();
        let mut lines: Vec<OrderLine> = review
            .shops
            .iter()
            .flat_map(|shop| {
                shop.items.iter().map(|item| OrderLine {
                    shop_id: shop.shop_id.clone(),
                    product_id: item.product_id.clone(),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    unit_price: item.unit_price,
                    status: OrderStatus::Pending,
                    stock_returned: false,
                })
            })
            .collect();
        // Reserving in one global order keeps lock-based strategies free of deadlocks.
        lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        let record = CheckoutRecord {
            id: checkout_id.clone(),
            customer_id: customer.clone(),
            idempotency_key: key.clone(),
            state: CheckoutState::Started,
            order: Order {
                id: OrderId::generate(),
                customer_id: customer.clone(),
                checkout_id,
                totals: review.totals,
                shipping: input.shipping,
                payment: input.payment,
                lines,
                discounts: review.shops.into_iter().flat_map(|s| s.discounts).collect(),
                tracking_number: None,
                note: None,
                status: OrderStatus::Pending,
                returns_pending: false,
                version: 0,
                created_at: now,
                updated_at: now,
            },
            failure: None,
            deadline: now + self.config.checkout.lease,
            created_at: now,
            updated_at: now,
        };
        match self.backend.checkouts.insert(&record).await {
            Ok(()) => self.run(record).await,
            Err(Error::Conflict(_)) => {
                let existing = self
                    .backend
                    .checkouts
                    .find_by_key(customer, &key)
                    .await?
                    .ok_or_else(|| Error::Conflict("checkout vanished; retry".into()))?;
                self.outcome_of(existing).await
            }
            Err(e) => Err(e),
        }
    }

    /// Finishes what crashed or stalled processes left half-way: checkouts past their deadline
    /// are rolled back (stock and discount uses return) or, if they reached `Committing`,
    /// completed; cancelled orders that still owe stock or uses pay them back. Idempotent; safe
    /// to run from several processes at once.
    pub async fn recover_stale_checkouts(&self, now: Timestamp) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        for record in self
            .backend
            .checkouts
            .list_stale(now, RECOVERY_BATCH)
            .await?
        {
            match record.state {
                CheckoutState::Started | CheckoutState::RollingBack => {
                    let failure = CheckoutFailure::Retryable {
                        message: "checkout was interrupted; try again".into(),
                    };
                    if self.roll_back(&record, record.state, failure, now).await? {
                        report.rolled_back += 1;
                    }
                }
                CheckoutState::Committing => {
                    self.commit(&record, now).await?;
                    report.completed += 1;
                }
                CheckoutState::Completed | CheckoutState::Failed => {}
            }
        }
        for order in self
            .backend
            .orders
            .list_returns_pending(RECOVERY_BATCH)
            .await?
        {
            finish_returns(&self.backend, order).await?;
            report.returns_finished += 1;
        }
        Ok(report)
    }

    /// Runs a `Started` record owned by this call to its end.
    async fn run(&self, record: CheckoutRecord) -> Result<Order> {
        if let Err(err) = self.hold(&record).await {
            let now = self.backend.clock.now();
            self.roll_back(
                &record,
                CheckoutState::Started,
                CheckoutFailure::from_error(&err),
                now,
            )
            .await?;
            return Err(err);
        }
        let now = self.backend.clock.now();
        let committing = Transition {
            from: CheckoutState::Started,
            to: CheckoutState::Committing,
            deadline: now + self.config.checkout.lease,
            failure: None,
            now,
        };
        if !self
            .backend
            .checkouts
            .transition(&record.id, &committing)
            .await?
        {
            // Recovery declared this checkout abandoned and is rolling it back; make sure nothing
            // this call reserved after its sweep stays held.
            self.release_all(&record).await?;
            return Err(Error::Unavailable(
                "checkout took too long and was rolled back; try again".into(),
            ));
        }
        self.commit(&record, now).await
    }

    /// Reserves every line and redeems every discount of the record.
    async fn hold(&self, record: &CheckoutRecord) -> Result<()> {
        let reservation = record.id.as_str();
        if self.config.checkout.strategy == CheckoutStrategy::Gate {
            self.admit(record).await?;
        }
        for line in &record.order.lines {
            self.reserve(&line.product_id, line.quantity, reservation)
                .await?;
        }
        for applied in &record.order.discounts {
            let redemption = Redemption {
                id: reservation.to_owned(),
                customer_id: record.customer_id.clone(),
                at: self.backend.clock.now(),
            };
            self.backend
                .discounts
                .redeem(&applied.discount_id, &redemption)
                .await?;
        }
        Ok(())
    }

    /// Has the stock gate admit every line of the record, seeding products it does not know yet
    /// from the store. A refusal is out of stock, answered without touching the store.
    async fn admit(&self, record: &CheckoutRecord) -> Result<()> {
        let lines: Vec<GateLine> = record
            .order
            .lines
            .iter()
            .map(|l| GateLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
            })
            .collect();
        let gate = &self.backend.gate;
        for _ in 0..GATE_ATTEMPTS {
            match gate.admit(record.id.as_str(), &lines).await? {
                Admission::Admitted => return Ok(()),
                Admission::Refused { product_id } => {
                    return Err(Error::InsufficientStock {
                        product_id: product_id.to_string(),
                    })
                }
                Admission::Unseeded { product_ids } => {
                    for product in &product_ids {
                        let stock = self
                            .backend
                            .inventory
                            .get(product)
                            .await?
                            .map_or(0, |i| i.stock);
                        gate.seed(product, stock).await?;
                    }
                }
            }
        }
        Err(Error::Busy(
            "the stock gate keeps being reset; retry".into(),
        ))
    }

    async fn reserve(&self, product: &ProductId, quantity: u32, reservation: &str) -> Result<()> {
        let inventory = &self.backend.inventory;
        match self.config.checkout.strategy {
            CheckoutStrategy::Atomic | CheckoutStrategy::Gate => {
                inventory
                    .reserve(product, quantity, reservation, self.backend.clock.now())
                    .await?;
            }
            CheckoutStrategy::LockThenReserve => {
                // Fail fast without queueing for the lock when the stock is clearly short.
                let stock = inventory.get(product).await?.map_or(0, |i| i.stock);
                if stock < u64::from(quantity) {
                    return Err(Error::InsufficientStock {
                        product_id: product.to_string(),
                    });
                }
                let settings = &self.config.checkout;
                let key = format!("stock:{product}");
                let guard = self
                    .backend
                    .lock
                    .acquire(&key, settings.lock_ttl, settings.lock_wait)
                    .await?;
                let reserved = inventory
                    .reserve(product, quantity, reservation, self.backend.clock.now())
                    .await;
                if let Err(e) = self.backend.lock.release(&guard).await {
                    tracing::warn!(%key, error = %e, "stock lock release failed; it expires by TTL");
                }
                reserved?;
            }
        }
        Ok(())
    }

    /// Moves the record `from -> RollingBack`, returns what it holds and marks it `Failed`.
    /// Returns false if another party had already moved the record on.
    async fn roll_back(
        &self,
        record: &CheckoutRecord,
        from: CheckoutState,
        failure: CheckoutFailure,
        now: Timestamp,
    ) -> Result<bool> {
        let deadline = now + self.config.checkout.lease;
        if from != CheckoutState::RollingBack {
            let start = Transition {
                from,
                to: CheckoutState::RollingBack,
                deadline,
                failure: None,
                now,
            };
            if !self
                .backend
                .checkouts
                .transition(&record.id, &start)
                .await?
            {
                // Someone else decided its fate; still return whatever this call holds.
                self.release_all(record).await?;
                return Ok(false);
            }
        }
        self.release_all(record).await?;
        let done = Transition {
            from: CheckoutState::RollingBack,
            to: CheckoutState::Failed,
            deadline,
            failure: Some(failure),
            now,
        };
        self.backend.checkouts.transition(&record.id, &done).await
    }

    /// Returns every reservation and redemption the record may hold (idempotent).
    async fn release_all(&self, record: &CheckoutRecord) -> Result<()> {
        let id = record.id.as_str();
        let mut products = Vec::with_capacity(record.order.lines.len());
        for line in &record.order.lines {
            self.backend.inventory.release(&line.product_id, id).await?;
            products.push(line.product_id.clone());
        }
        // Only the gate strategy admits; sparing the others the call keeps a gate outage from
        // blocking their rollbacks.
        if self.config.checkout.strategy == CheckoutStrategy::Gate {
            self.backend.gate.release(id, &products).await?;
        }
        for applied in &record.order.discounts {
            self.backend
                .discounts
                .unredeem(&applied.discount_id, id)
                .await?;
        }
        Ok(())
    }

    /// Inserts the order (a second insert of the same order is fine), empties the bought lines
    /// from the cart and marks the record `Completed`.
    async fn commit(&self, record: &CheckoutRecord, now: Timestamp) -> Result<Order> {
        match self.backend.orders.insert(&record.order).await {
            Ok(()) | Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let bought: Vec<ProductId> = record
            .order
            .lines
            .iter()
            .map(|l| l.product_id.clone())
            .collect();
        self.backend
            .carts
            .remove_lines(&record.customer_id, &bought, now)
            .await?;
        let done = Transition {
            from: CheckoutState::Committing,
            to: CheckoutState::Completed,
            deadline: now,
            failure: None,
            now,
        };
        self.backend.checkouts.transition(&record.id, &done).await?;
        Ok(record.order.clone())
    }

    /// The outcome of a checkout started by an earlier request with the same key: waits while
    /// it runs, restarts it if it failed for a transient reason.
    async fn outcome_of(&self, mut record: CheckoutRecord) -> Result<Order> {
        let mut pause = Duration::from_millis(5);
        loop {
            match (&record.state, &record.failure) {
                (CheckoutState::Completed, _) => {
                    return Ok(self
                        .backend
                        .orders
                        .get(&record.order.id)
                        .await?
                        .unwrap_or(record.order));
                }
                (CheckoutState::Failed, Some(failure)) if failure.is_retryable() => {
                    let now = self.backend.clock.now();
                    let restart = Transition {
                        from: CheckoutState::Failed,
                        to: CheckoutState::Started,
                        deadline: now + self.config.checkout.lease,
                        failure: None,
                        now,
                    };
                    if self
                        .backend
                        .checkouts
                        .transition(&record.id, &restart)
                        .await?
                    {
                        return Box::pin(self.run(record)).await;
                    }
                }
                (CheckoutState::Failed, failure) => {
                    return Err(failure.as_ref().map_or_else(
                        || Error::Conflict("checkout failed".into()),
                        CheckoutFailure::to_error,
                    ));
                }
                _ if record.deadline + self.config.checkout.lease < self.backend.clock.now() => {
                    return Err(Error::Busy(
                        "the checkout with this key is still running".into(),
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
            record = self
                .backend
                .checkouts
                .get(&record.id)
                .await?
                .ok_or_else(|| Error::not_found("checkout"))?;
        }
    }

    async fn discount(&self, shop: &ShopId, code: &ShopDiscountRequest) -> Result<Discount> {
        if &code.shop_id != shop {
            return Err(Error::validation(
                "shop_discounts",
                "a code must belong to its shop",
            ));
        }
        self.backend
            .discounts
            .find_active_by_code(shop, code.code.trim())
            .await?
            .ok_or_else(|| Error::DiscountNotApplicable(format!("{}: no such code", code.code)))
    }
}

/// Validates the request's shape and returns the units wanted per product (duplicates merged).
fn wanted_lines(request: &CheckoutRequest) -> Result<BTreeMap<ProductId, u32>> {
    let shops = &request.shop_order_ids;
    if shops.is_empty() || shops.len() > MAX_SHOPS {
        return Err(Error::validation(
            "shop_order_ids",
            format!("must hold 1 to {MAX_SHOPS} shops"),
        ));
    }
    let mut seen_shops = HashSet::new();
    let mut wanted: BTreeMap<ProductId, u32> = BTreeMap::new();
    for shop in shops {
        if !seen_shops.insert(&shop.shop_id) {
            return Err(Error::validation("shopId", "each shop may appear once"));
        }
        if shop.shop_discounts.len() > 1 {
            return Err(Error::validation(
                "shop_discounts",
                "at most one code per shop",
            ));
        }
        if shop.item_products.is_empty() {
            return Err(Error::validation("item_products", "must not be empty"));
        }
        for item in &shop.item_products {
            let quantity = validate::quantity("quantity", item.quantity)?;
            let total = wanted.entry(item.product_id.clone()).or_insert(0);
            *total = total.saturating_add(quantity);
            if *total > MAX_QUANTITY {
                return Err(Error::validation(
                    "quantity",
                    format!("must be between 1 and {MAX_QUANTITY}"),
                ));
            }
        }
    }
    if wanted.len() > MAX_LINES {
        return Err(Error::validation(
            "item_products",
            format!("at most {MAX_LINES} products per checkout"),
        ));
    }
    Ok(wanted)
}
