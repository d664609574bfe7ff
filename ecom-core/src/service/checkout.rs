//! Checkout: review (server-side prices and discounts) and placing orders, with recovery.
//!
//! Placing an order: 1. the order is reviewed again from stored products and codes (client
//! prices are ignored); 2. with the gate strategy, the stock gate admits every line; 3. every
//! line is reserved in product-id order and every code use opened, all keyed by the new
//! order's id (one id per attempt, never reused); 4. **the order insert is the commit point**:
//! unique per order id and per (customer, idempotency key); 5. the bought lines leave the cart;
//! 6. in the background, batched per product, the holds settle into sold stock and taken uses.
//!
//! Before the commit point a failure gives every hold back. At it, an insert whose outcome is
//! unknown (a lost reply) is settled by reading the order, then by *voiding* its id: once
//! voided, the order can never be inserted, so its holds can be given back safely. Recovery
//! does the same for holds left open past the lease by a process that died: the order exists
//! (settle, finish the cart) or its id is voided (give back). A slow process that reaches its
//! insert after that finds the id voided and gives its holds back too.
//!
//! A repeat of an idempotency key whose order exists gets that order; repeats running at the
//! same time in one process wait for the first and take its order; a repeat of a key whose
//! attempt was refused is a new attempt.

use super::batched::Batched;
use super::config::EcomConfig;
use super::discount::ItemRequest;
use super::holds::Holds;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::{Discount, LineValue};
use crate::error::{Error, Result};
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::money::Money;
use crate::order::{AppliedDiscount, CheckoutTotals, Order, OrderLine, OrderStatus};
use crate::payment::Payment;
use crate::validate::{self, MAX_QUANTITY};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Most shops in one checkout.
const MAX_SHOPS: usize = 20;
/// Most distinct products in one checkout.
const MAX_LINES: usize = 100;

/// One shop's part of a checkout request: what to buy from it (client prices, if any, are
/// never asked for) and at most one of its codes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShopOrder {
    /// The shop.
    pub shop_id: ShopId,
    /// A code of this shop to apply, if any.
    pub code: Option<String>,
    /// What to buy from it; a product (and model) listed twice counts once with the units
    /// added.
    pub items: Vec<ItemRequest>,
}

impl ShopOrder {
    /// Buying `items` (product, units) from `shop_id`, without a code.
    pub fn new(shop_id: ShopId, items: impl IntoIterator<Item = (ProductId, u32)>) -> Self {
        ShopOrder {
            shop_id,
            code: None,
            items: items
                .into_iter()
                .map(|(product_id, quantity)| ItemRequest::new(product_id, quantity))
                .collect(),
        }
    }

    /// Also buying `quantity` units of `model` of `product`.
    pub fn with_model(mut self, product: ProductId, model: ProductId, quantity: u32) -> Self {
        self.items
            .push(ItemRequest::new(product, quantity).of_model(model));
        self
    }

    /// With the shop's code `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// A checkout request: what to buy, grouped by shop. Errors name the fields `shops`, `shop`,
/// `items`, `quantity` and `code`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CheckoutRequest {
    /// The shops' parts, 1 to 20, each shop once.
    pub shops: Vec<ShopOrder>,
}

impl CheckoutRequest {
    /// A request of these shops' parts.
    pub fn new(shops: impl IntoIterator<Item = ShopOrder>) -> Self {
        CheckoutRequest {
            shops: shops.into_iter().collect(),
        }
    }
}

/// Input of [`CheckoutService::place_order`].
#[derive(Clone, PartialEq, Debug)]
pub struct PlaceOrder {
    /// What to buy.
    pub request: CheckoutRequest,
    /// Shipping address (free-form JSON, stored as given).
    pub shipping: Value,
    /// The payment method: a name registered in
    /// [`EcomConfig::payments`](crate::EcomConfig::payments) (`cod` by default).
    pub payment_method: String,
    /// The client's `Idempotency-Key`; a repeat returns the first outcome. Without one every
    /// call is a new checkout.
    pub idempotency_key: Option<String>,
}

impl PlaceOrder {
    /// Placing `request`, shipped to `address` (field, value pairs such as `("city",
    /// "Hanoi")`), paid cash on delivery, without an idempotency key.
    pub fn new<K, V>(request: CheckoutRequest, address: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<Value>,
    {
        PlaceOrder {
            request,
            shipping: Value::Object(
                address
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            payment_method: "cod".to_owned(),
            idempotency_key: None,
        }
    }

    /// Paid by `method` (a registered payment method, such as `online`).
    pub fn with_payment(mut self, method: impl Into<String>) -> Self {
        self.payment_method = method.into();
        self
    }

    /// With this idempotency key (a repeat returns the first outcome).
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// A line priced by the server.
#[derive(Clone, PartialEq, Debug)]
pub struct ReviewedItem {
    /// The product.
    pub product_id: ProductId,
    /// Its model, for a product with models.
    pub model_id: Option<ProductId>,
    /// The model's name (`Red / M`).
    pub model_name: Option<String>,
    /// Its name.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// Stored unit price (the model's, for a product with models).
    pub unit_price: Money,
    /// `quantity * unit_price`.
    pub value: Money,
}

/// One shop's part, priced.
#[derive(Clone, PartialEq, Debug)]
pub struct ShopReview {
    /// The shop.
    pub shop_id: ShopId,
    /// Its lines.
    pub items: Vec<ReviewedItem>,
    /// Its code, if one was sent and applies.
    pub discounts: Vec<AppliedDiscount>,
    /// Sum of its lines.
    pub subtotal: Money,
    /// `subtotal` minus its discounts.
    pub after_discounts: Money,
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
    /// Abandoned checkouts (no order was placed) whose stock and code uses went back.
    pub rolled_back: u32,
    /// Checkouts whose order was placed but whose holds were still open: settled (and their
    /// bought lines removed from the cart).
    pub completed: u32,
    /// Orders whose returns (stock and code uses of cancelled lines) were finished.
    pub returns_finished: u32,
}

/// The checkout use cases. Cheap to clone (one shared state).
#[derive(Clone, Debug)]
pub struct CheckoutService {
    pub(super) inner: Arc<Shared>,
}

/// What every clone of a [`CheckoutService`] shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) backend: Backend,
    pub(super) config: Arc<EcomConfig>,
    pub(super) holds: Holds,
    batched: Batched,
    in_flight: Arc<InFlight>,
    pub(super) retries: super::recovery::Retries,
}

impl CheckoutService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        CheckoutService {
            inner: Arc::new(Shared {
                holds: Holds::new(backend.clone(), config.clone()),
                batched: Batched::new(backend.clone(), config.group_commit),
                backend,
                config,
                in_flight: Arc::default(),
                retries: super::recovery::Retries::default(),
            }),
        }
    }

    /// Prices a request from stored products and the shops' codes. Nothing is written.
    pub async fn review(
        &self,
        customer: &CustomerId,
        request: &CheckoutRequest,
    ) -> Result<CheckoutReview> {
        let wanted = wanted_lines(request)?;
        let mut ids: Vec<ProductId> = wanted.keys().map(|(p, _)| p.clone()).collect();
        ids.dedup();
        let products = self.inner.batched.products(ids).await?;
        let now = self.inner.backend.clock.now();
        let currency = self.inner.config.currency;
        let mut shops = Vec::with_capacity(request.shops.len());
        let mut total_price = Money::zero(currency);
        let mut total_discount = Money::zero(currency);
        for shop_order in &request.shops {
            let mut items = Vec::new();
            let mut subtotal = Money::zero(currency);
            let mut seen = HashSet::new();
            for item in &shop_order.items {
                let line = (item.product_id.clone(), item.model_id.clone());
                if !seen.insert(line.clone()) {
                    continue;
                }
                let product = products
                    .iter()
                    .find(|p| p.id == item.product_id && p.is_published)
                    .ok_or_else(|| Error::not_found("product"))?;
                if product.shop_id != shop_order.shop_id {
                    return Err(Error::validation(
                        "shop",
                        "the shop does not sell this product",
                    ));
                }
                let model = product.model_of_line(item.model_id.as_ref())?;
                let unit_price = model.map_or(product.price, |m| m.price);
                let quantity = wanted[&line];
                let value = unit_price.checked_mul(u64::from(quantity))?;
                subtotal = subtotal.checked_add(value)?;
                items.push(ReviewedItem {
                    product_id: product.id.clone(),
                    model_id: model.map(|m| m.id.clone()),
                    model_name: model.map(|m| m.name.clone()),
                    name: product.name.clone(),
                    quantity,
                    unit_price,
                    value,
                });
            }
            let mut discounts = Vec::new();
            if let Some(code) = &shop_order.code {
                let discount = self.discount(&shop_order.shop_id, code).await?;
                let used = self
                    .inner
                    .backend
                    .discounts
                    .uses_by(&discount.id, customer)
                    .await?;
                let lines: Vec<LineValue> = items
                    .iter()
                    .map(|i| LineValue {
                        product_id: i.product_id.clone(),
                        shop_id: shop_order.shop_id.clone(),
                        value: i.value,
                    })
                    .collect();
                let amount = discount.amount(&lines, used, now)?;
                discounts.push(AppliedDiscount {
                    shop_id: shop_order.shop_id.clone(),
                    discount_id: discount.id,
                    code: discount.code,
                    amount,
                    returned: None,
                });
            }
            let shop_discount = discounts
                .iter()
                .try_fold(Money::zero(currency), |sum, d| sum.checked_add(d.amount))?;
            total_price = total_price.checked_add(subtotal)?;
            total_discount = total_discount.checked_add(shop_discount)?;
            shops.push(ShopReview {
                shop_id: shop_order.shop_id.clone(),
                items,
                discounts,
                subtotal,
                after_discounts: subtotal.checked_sub(shop_discount)?,
            });
        }
        let fee_ship = Money::new(self.inner.config.checkout.fee_ship_minor, currency);
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

    /// Places an order: the steps described in the module docs. Out of stock for any line is
    /// [`Error::InsufficientStock`] with nothing held; a busy stock lock is [`Error::Busy`]; a
    /// checkout given up by recovery, or whose outcome could not be learned, is
    /// [`Error::Unavailable`] (retry with the same key).
    ///
    /// The checkout runs on a task of its own: once started it runs to its end even if the
    /// caller stops waiting (a client that went away can learn the outcome by repeating its
    /// key).
    pub async fn place_order(&self, customer: &CustomerId, input: PlaceOrder) -> Result<Order> {
        let explicit = input.idempotency_key.is_some();
        let key = match &input.idempotency_key {
            Some(key) => validate::idempotency_key(key)?,
            None => OrderId::generate().to_string(),
        };
        validate::plain_json("shipping", &input.shipping)?;
        self.inner
            .config
            .payments
            .get(&input.payment_method, "payment.method")?;
        let service = self.clone();
        let customer = customer.clone();
        let task = tokio::spawn(async move {
            // Repeats of a client's key in this process wait for the first; a generated key
            // is never repeated.
            let turn = match explicit {
                true => Some(service.inner.in_flight.turn(&customer, &key).await),
                false => None,
            };
            if turn.as_ref().is_some_and(|t| t.waited) {
                if let Some(order) = service
                    .inner
                    .backend
                    .orders
                    .find_by_key(&customer, &key)
                    .await?
                {
                    return Ok(order);
                }
            }
            let outcome = service.attempt(&customer, &key, input).await;
            match outcome {
                Err(e) if explicit => {
                    match service
                        .inner
                        .backend
                        .orders
                        .find_by_key(&customer, &key)
                        .await
                    {
                        Ok(Some(order)) => Ok(order),
                        _ => Err(e),
                    }
                }
                outcome => outcome,
            }
        });
        match task.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Unavailable("the checkout was stopped; retry".into())),
        }
    }

    /// Waits until every order placed so far through this service has settled its holds
    /// (they settle in the background). For tests and graceful shutdown.
    pub async fn flush(&self) {
        self.inner.holds.flush().await;
    }

    /// One attempt at placing an order: its own order id, its own holds.
    async fn attempt(&self, customer: &CustomerId, key: &str, input: PlaceOrder) -> Result<Order> {
        let review = self.review(customer, &input.request).await?;
        let now = self.inner.backend.clock.now();
        let provider = self
            .inner
            .config
            .payments
            .get(&input.payment_method, "payment.method")?
            .clone();
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
                    returned: None,
                    model_id: item.model_id.clone(),
                    model_name: item.model_name.clone(),
                })
            })
            .collect();
        // Reserving in one global order keeps lock-based strategies free of deadlocks.
        lines.sort_by(|a, b| a.stock_id().cmp(b.stock_id()));
        let order = Arc::new(Order {
            id: OrderId::generate(),
            customer_id: customer.clone(),
            idempotency_key: key.to_owned(),
            totals: review.totals,
            shipping: input.shipping,
            payment: Payment::new(
                provider.name(),
                provider.capture(),
                review.totals.total_checkout,
                now,
                provider.timeout(),
            ),
            lines,
            discounts: review.shops.into_iter().flat_map(|s| s.discounts).collect(),
            fulfilment: Vec::new(),
            status: OrderStatus::Pending,
            returning: None,
            version: 0,
            created_at: now,
            updated_at: now,
        });
        if let Err(e) = self.inner.holds.hold(&order, now).await {
            self.inner.holds.give_back(&order, now).await;
            return Err(short_line_named(e, &order));
        }
        match self.commit(&order).await? {
            Commit::Placed => {
                self.finish(&order, now).await;
                let order = Arc::unwrap_or_clone(order);
                Ok(super::payment::start(&self.inner.backend, provider.as_ref(), order).await)
            }
            Commit::Taken(first) => {
                self.inner.holds.give_back(&order, now).await;
                Ok(*first)
            }
            Commit::Voided => {
                self.inner.holds.give_back(&order, now).await;
                Err(Error::Unavailable(
                    "the checkout took too long and was given up; retry".into(),
                ))
            }
        }
    }

    /// The commit point: inserts the order, and settles an unknown outcome by reading it back
    /// and, if it is not there, voiding its id.
    async fn commit(&self, order: &Arc<Order>) -> Result<Commit> {
        let orders = &self.inner.backend.orders;
        match self.inner.batched.insert(order.clone()).await {
            Ok(()) => Ok(Commit::Placed),
            Err(Error::AlreadyExists { .. }) => {
                match orders
                    .find_by_key(&order.customer_id, &order.idempotency_key)
                    .await?
                {
                    Some(stored) if stored.id == order.id => Ok(Commit::Placed),
                    Some(first) => Ok(Commit::Taken(Box::new(first))),
                    // The key is free, so the id was voided (or a retry found our own
                    // insert, which then shows up by id).
                    None => match orders.void(&order.id).await? {
                        Some(_) => Ok(Commit::Placed),
                        None => Ok(Commit::Voided),
                    },
                }
            }
            Err(unknown) => {
                tracing::warn!(order_id = %order.id, error = %unknown, "order insert outcome unknown; reading it back");
                let settled = async {
                    match orders.get(&order.id).await? {
                        Some(_) => Ok(Commit::Placed),
                        None => match orders.void(&order.id).await? {
                            Some(_) => Ok(Commit::Placed),
                            None => Ok(Commit::Voided),
                        },
                    }
                };
                // If even that fails, the holds stay open: recovery settles the question.
                settled.await.map_err(|_: Error| unknown)
            }
        }
    }

    /// After the commit point: the bought lines leave the cart, then the holds settle in the
    /// background. If the cart cannot be changed now, the holds stay open and recovery finishes
    /// both after the lease; the order is placed either way.
    async fn finish(&self, order: &Arc<Order>, now: Timestamp) {
        let bought: Vec<ProductId> = order.lines.iter().map(|l| l.stock_id().clone()).collect();
        match self
            .inner
            .batched
            .remove_bought(&order.customer_id, bought, now)
            .await
        {
            Ok(()) => self.inner.holds.settle_in_background(order, now),
            Err(e) => {
                tracing::warn!(order_id = %order.id, error = %e, "removing bought lines from the cart failed; recovery will");
            }
        }
    }

    async fn discount(&self, shop: &ShopId, code: &str) -> Result<Discount> {
        self.inner
            .backend
            .discounts
            .find_active_by_code(shop, code.trim())
            .await?
            .ok_or_else(|| Error::DiscountNotApplicable(format!("{code}: no such code")))
    }
}

/// Where a checkout's commit point left it.
enum Commit {
    /// Its order is placed.
    Placed,
    /// Another attempt with the same key placed this order first.
    Taken(Box<Order>),
    /// Its order id is voided: it can never be placed.
    Voided,
}

/// One checkout per (customer, key) at a time in this process: a repeat waits for the first.
#[derive(Debug, Default)]
struct InFlight {
    keys: std::sync::Mutex<HashMap<(CustomerId, String), KeyLock>>,
}

/// Serializes the checkouts of one (customer, key) in this process.
type KeyLock = Arc<tokio::sync::Mutex<()>>;

/// A checkout's turn at its key; frees the key's entry when the last one ends.
struct Turn {
    in_flight: Arc<InFlight>,
    key: (CustomerId, String),
    gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Whether another checkout with the key ran first.
    waited: bool,
}

impl InFlight {
    async fn turn(self: &Arc<Self>, customer: &CustomerId, key: &str) -> Turn {
        let key = (customer.clone(), key.to_owned());
        let lock = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let (gate, waited) = match lock.clone().try_lock_owned() {
            Ok(gate) => (gate, false),
            Err(_) => (lock.lock_owned().await, true),
        };
        Turn {
            in_flight: self.clone(),
            key,
            gate: Some(gate),
            waited,
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.gate.take());
        let mut keys = self
            .in_flight
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if keys
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            keys.remove(&self.key);
        }
    }
}

/// An out-of-stock refusal names the stock record that was short; for a model's record, say
/// which product and model that is.
fn short_line_named(error: Error, order: &Order) -> Error {
    match error {
        Error::InsufficientStock { product_id } => {
            let model = order.lines.iter().find(|l| {
                l.model_id
                    .as_ref()
                    .is_some_and(|m| m.as_str() == product_id)
            });
            match model {
                Some(line) => Error::InsufficientStock {
                    product_id: format!(
                        "{} (model {} {})",
                        line.product_id,
                        line.model_name.as_deref().unwrap_or_default(),
                        product_id
                    ),
                },
                None => Error::InsufficientStock { product_id },
            }
        }
        other => other,
    }
}

/// A line of a checkout: the product and its model, if any.
type LineKey = (ProductId, Option<ProductId>);

/// Validates the request's shape and returns the units wanted per line (duplicates merged).
fn wanted_lines(request: &CheckoutRequest) -> Result<BTreeMap<LineKey, u32>> {
    let shops = &request.shops;
    if shops.is_empty() || shops.len() > MAX_SHOPS {
        return Err(Error::validation(
            "shops",
            format!("must hold 1 to {MAX_SHOPS} shops"),
        ));
    }
    let mut seen_shops = HashSet::new();
    let mut wanted: BTreeMap<LineKey, u32> = BTreeMap::new();
    for shop in shops {
        if !seen_shops.insert(&shop.shop_id) {
            return Err(Error::validation("shop", "each shop may appear once"));
        }
        if shop.items.is_empty() {
            return Err(Error::validation("items", "must not be empty"));
        }
        for item in &shop.items {
            let quantity = validate::quantity("quantity", item.quantity)?;
            let line = (item.product_id.clone(), item.model_id.clone());
            let total = wanted.entry(line).or_insert(0);
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
            "items",
            format!("at most {MAX_LINES} lines (products and models) per checkout"),
        ));
    }
    Ok(wanted)
}
