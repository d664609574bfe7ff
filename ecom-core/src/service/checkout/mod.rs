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

mod batched;
pub(crate) mod gate_heal;
pub(crate) mod holds;
mod in_flight;
mod recovery;
mod request;
mod retries;
mod settler;
pub(crate) mod strategy;

pub use recovery::RecoveryReport;
pub use request::{
    CheckoutRequest, CheckoutReview, PlaceOrder, ReviewedItem, ShopOrder, ShopReview,
};
pub use strategy::CheckoutStrategy;

use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::{Discount, LineValue};
use crate::error::{Error, Result};
use crate::id::{CustomerId, OrderId, ProductId, ShopId};
use crate::idempotency::IdempotencyKey;
use crate::money::{Money, MAX_MAJOR_UNITS};
use crate::order::{AppliedDiscount, CheckoutTotals, Order, OrderLine, OrderStatus};
use crate::payment::{Payment, PaymentProvider};
use crate::service::config::EcomConfig;
use crate::validate;
use batched::Batched;
use holds::Holds;
use in_flight::InFlight;
use recovery::Recovery;
use std::collections::HashSet;
use std::sync::Arc;

/// The answer of a checkout whose order recovery gave up (its holds were older than the
/// lease): only a checkout that ran longer than the lease can get it.
pub const GIVEN_UP: &str = "the checkout took too long and was given up; retry";

/// The checkout use cases. Cheap to clone (one shared state).
#[derive(Clone, Debug)]
pub struct CheckoutService {
    inner: Arc<Shared>,
}

/// What every clone of a [`CheckoutService`] shares.
#[derive(Debug)]
struct Shared {
    backend: Backend,
    config: Arc<EcomConfig>,
    holds: Holds,
    batched: Batched,
    in_flight: Arc<InFlight>,
    recovery: Recovery,
}

impl CheckoutService {
    pub(crate) fn new(backend: Backend, config: Arc<EcomConfig>) -> Self {
        let settings = &config.checkout;
        let strategy = settings.strategy.build(
            &backend,
            strategy::Tuning {
                group_commit: config.group_commit,
                lock_ttl: settings.lock_ttl,
                lock_wait: settings.lock_wait,
                gate_heal_every: settings.gate_heal_every,
            },
        );
        let holds = Holds::new(backend.clone(), strategy.clone());
        CheckoutService {
            inner: Arc::new(Shared {
                recovery: Recovery::new(backend.clone(), settings.lease, holds.clone(), strategy),
                batched: Batched::new(backend.clone(), config.group_commit),
                holds,
                backend,
                config,
                in_flight: Arc::default(),
            }),
        }
    }

    /// Prices a request from stored products and the shops' codes. Nothing is written.
    pub async fn review(
        &self,
        customer: &CustomerId,
        request: &CheckoutRequest,
    ) -> Result<CheckoutReview> {
        let wanted = request.wanted_lines()?;
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
                    discount_share: Money::zero(currency),
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
                for (item, share) in items.iter_mut().zip(discount.shares(&lines, amount)?) {
                    item.discount_share = item.discount_share.checked_add(share)?;
                }
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
        // One money limit: an order's total is at most what a payment (or a provider's
        // callback) can carry.
        total_checkout
            .checked_input(currency, "items")
            .map_err(|_| {
                Error::validation(
                    "items",
                    format!(
                        "the order's total may be at most {MAX_MAJOR_UNITS} (the largest amount a \
                     payment carries)"
                    ),
                )
            })?;
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
    /// [`Error::Unavailable`] (retry with the same key). An unknown payment method is
    /// [`Error::Validation`] of `payment.method`.
    ///
    /// The checkout runs on a task of its own: once started it runs to its end even if the
    /// caller stops waiting (a client that went away can learn the outcome by repeating its
    /// key).
    pub async fn place_order(&self, customer: &CustomerId, input: PlaceOrder) -> Result<Order> {
        let explicit = input.idempotency_key.is_some();
        let key = input
            .idempotency_key
            .clone()
            .unwrap_or_else(IdempotencyKey::generate);
        validate::plain_json("shipping", &input.shipping)?;
        let provider = self
            .inner
            .config
            .payments
            .get(&input.payment_method, "payment.method")?
            .clone();
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
                if let Some(order) = service.placed_with(&customer, &key).await? {
                    return Ok(order);
                }
            }
            let outcome = service.attempt(&customer, &key, input, provider).await;
            match outcome {
                Err(e) if explicit => match service.placed_with(&customer, &key).await {
                    Ok(Some(order)) => Ok(order),
                    _ => Err(e),
                },
                outcome => outcome,
            }
        });
        match task.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Unavailable("the checkout was stopped; retry".into())),
        }
    }

    /// The customer's order placed with `key`, if any.
    async fn placed_with(
        &self,
        customer: &CustomerId,
        key: &IdempotencyKey,
    ) -> Result<Option<Order>> {
        self.inner
            .backend
            .orders
            .find_by_key(customer, key.as_str())
            .await
    }

    /// Waits until every order placed so far through this service has settled its holds
    /// (they settle in the background). For tests and graceful shutdown.
    pub async fn flush(&self) {
        self.inner.holds.flush().await;
    }

    /// Finishes what crashed or stalled processes left half-way (see the module docs of
    /// `recovery`): holds open for longer than the checkout lease are settled or given back,
    /// then return claims past their deadline are taken over and finished (after the holds, so
    /// the units a dead superseded claimant reopened are back in `sold` first). Idempotent; safe
    /// to run from several processes at once. A hold that fails to recover does not stop the
    /// pass; the first such error is returned after it.
    pub async fn recover_stale_checkouts(&self, now: Timestamp) -> Result<RecoveryReport> {
        self.inner.recovery.run(now).await
    }

    /// How many recoveries of a hold, use, admission or return failed since this service
    /// started (each is retried with backoff; the server exports it as
    /// `ecom_recovery_failures_total`).
    pub fn recovery_failures(&self) -> u64 {
        self.inner.recovery.failures()
    }

    /// One attempt at placing an order: its own order id, its own holds.
    async fn attempt(
        &self,
        customer: &CustomerId,
        key: &IdempotencyKey,
        input: PlaceOrder,
        provider: Arc<dyn PaymentProvider>,
    ) -> Result<Order> {
        let review = self.review(customer, &input.request).await?;
        let now = self.inner.backend.clock.now();
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
                    discount_share: (item.discount_share.minor != 0).then_some(item.discount_share),
                    delivered_at: None,
                })
            })
            .collect();
        // Reserving in one global order keeps lock-based strategies free of deadlocks.
        lines.sort_by(|a, b| a.stock_id().cmp(b.stock_id()));
        let order = Arc::new(Order {
            id: OrderId::generate(),
            customer_id: customer.clone(),
            idempotency_key: key.as_str().to_owned(),
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
            returns: Vec::new(),
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
                Ok(
                    crate::service::payment::start(&self.inner.backend, provider.as_ref(), order)
                        .await,
                )
            }
            Commit::Taken(first) => {
                self.inner.holds.give_back(&order, now).await;
                Ok(*first)
            }
            Commit::Voided => {
                self.inner.holds.give_back(&order, now).await;
                Err(Error::Unavailable(GIVEN_UP.into()))
            }
            Commit::NotStored => {
                self.inner.holds.give_back(&order, now).await;
                Err(Error::Unavailable(
                    "the order could not be stored; retry with the same key".into(),
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
                            None => Ok(Commit::NotStored),
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
    /// Its order id was voided by recovery (the checkout outlived its lease): it can never be
    /// placed.
    Voided,
    /// Its insert's outcome was unknown, the order was not there, and the checkout voided
    /// the id itself: it can never be placed.
    NotStored,
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
