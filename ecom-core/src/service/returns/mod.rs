//! Returns after delivery: the customer asks, the shop decides and receives, the operator
//! settles disputes, and the sweep acts on what nobody answered in time. Every move is one
//! conditional write of the order that holds the return ([`update_order`]), checked against
//! the [`ReturnStatus`] table and the order's [`ledger`] in that write.

mod input;
mod refund;
mod restock;
pub(crate) mod stats;

pub use input::{DisputeOutcome, NewReturn, ReceivedLine, ReturnItem, MAX_EVIDENCE, MAX_LINES};
pub use stats::{ReturnCounts, REFUND_OUTCOMES, RETURN_OUTCOMES};

use crate::account::AccountKind;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::AdjustmentId;
use crate::id::{CustomerId, OrderId, ReturnId, ShopId};
use crate::idempotency::IdempotencyKey;
use crate::money::Money;
use crate::order::{Order, OrderStatus};
use crate::page::Page;
use crate::payment::{Capture, PaymentStatus};
use crate::returns::ledger::{price_refund, units_taken};
use crate::returns::{
    OrderReturn, RefundStatus, ReturnFilter, ReturnLine, ReturnMode, ReturnPolicy, ReturnStatus,
    MAX_MOVE_KEYS, MAX_RETURNS_PER_ORDER,
};
use crate::service::config::EcomConfig;
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};
use chrono::Duration;
use std::sync::Arc;

/// Most returns one sweep acts on.
const SWEEP_BATCH: u32 = 100;

/// What one [`ReturnService::sweep`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ReturnSweep {
    /// Requests the shop left unanswered, accepted as return and refund.
    pub accepted: u32,
    /// Returns closed: accepted but never shipped back, or rejected and never disputed.
    pub closed: u32,
    /// Returns whose received units went back to stock.
    pub restocked: u32,
    /// Refunds of returns the provider took (or made).
    pub refunds_requested: u32,
}

/// The return use cases.
#[derive(Clone, Debug)]
pub struct ReturnService {
    backend: Backend,
    config: Arc<EcomConfig>,
    policy: ReturnPolicy,
    stats: Arc<stats::ReturnStats>,
    /// The client's key of the next move ([`Self::keyed`]).
    key: Option<IdempotencyKey>,
}

/// A return and the order that holds it.
#[derive(Clone, PartialEq, Debug)]
pub struct ReturnOf {
    /// The return.
    pub ret: OrderReturn,
    /// Its order as it stands.
    pub order: Order,
}

impl ReturnOf {
    fn of(order: Order, id: &ReturnId) -> Result<Self> {
        let ret = order
            .return_of(id)
            .cloned()
            .ok_or_else(|| Error::not_found("return"))?;
        Ok(ReturnOf { ret, order })
    }
}

impl ReturnService {
    pub(crate) fn new(
        backend: Backend,
        config: Arc<EcomConfig>,
        stats: Arc<stats::ReturnStats>,
    ) -> Self {
        ReturnService {
            backend,
            policy: config.returns,
            config,
            stats,
            key: None,
        }
    }

    /// This service for a move the client may retry under `key`: a move of a return that
    /// already took a move with this key answers the return as it stands and changes nothing
    /// (the return keeps its [`MAX_MOVE_KEYS`] newest keys). Without a key, a repeated move
    /// is refused like any move the table forbids, so of two racing moves one wins.
    pub fn keyed(&self, key: IdempotencyKey) -> Self {
        ReturnService {
            key: Some(key),
            ..self.clone()
        }
    }

    /// Counts of requests by reason, moves by outcome and refunds (with amounts), from the
    /// events this process moved into the log.
    pub fn stats(&self) -> ReturnCounts {
        self.stats.snapshot()
    }

    /// Asks the provider for the refund `found` owes, if any (see [`refund`]).
    async fn refund(&self, found: ReturnOf) -> ReturnOf {
        refund::request(&self.backend, &self.config.payments, found).await
    }

    /// The policy in force.
    pub fn policy(&self) -> ReturnPolicy {
        self.policy
    }

    /// The customer asks for delivered units of one shop's lines of their order back. Refused:
    /// a line not delivered, past the window ([`ReturnPolicy::window`] after its delivery), more
    /// units than the line has left to return (its quantity less what earlier returns took),
    /// lines of two shops, an order not paid. Asking again with the same `request_key` answers
    /// the return the first call made. Another customer's order is [`Error::NotFound`].
    pub async fn request(
        &self,
        customer: &CustomerId,
        order_id: &OrderId,
        input: NewReturn,
    ) -> Result<ReturnOf> {
        let input = input.validated()?;
        let key = match &input.request_key {
            Some(key) => key.clone(),
            None => IdempotencyKey::generate(),
        };
        let order = self
            .backend
            .orders
            .get(order_id)
            .await?
            .filter(|o| &o.customer_id == customer)
            .ok_or_else(|| Error::not_found("order"))?;
        let now = self.backend.clock.now();
        let id = ReturnId::generate();
        let windows = self.windows(&order, &input).await?;
        let done = update_order(&self.backend, order, Actor::Customer, |current| {
            if current
                .returns
                .iter()
                .any(|r| r.request_key == key.as_str())
            {
                return Ok(Edit::Keep);
            }
            let ret = self.new_return(current, &id, &input, key.as_str(), now, &windows)?;
            let mut next = current.clone();
            next.returns.push(ret);
            Ok(Edit::save(next))
        })
        .await?;
        let id = match done
            .after
            .returns
            .iter()
            .find(|r| r.request_key == key.as_str())
        {
            Some(ret) => ret.id.clone(),
            None => return Err(Error::not_found("return")),
        };
        ReturnOf::of(done.after, &id)
    }

    /// The return window of each shop whose lines `input` names: the shop's own
    /// ([`ShopSettings::return_window_days`](crate::account::ShopSettings)), else the policy's.
    async fn windows(&self, order: &Order, input: &NewReturn) -> Result<Vec<(ShopId, Duration)>> {
        let mut windows: Vec<(ShopId, Duration)> = Vec::new();
        for item in &input.lines {
            let Some(line) = order
                .lines
                .iter()
                .find(|l| l.product_id == item.product_id && l.model_id == item.model_id)
            else {
                continue;
            };
            if windows.iter().any(|(shop, _)| shop == &line.shop_id) {
                continue;
            }
            let account = self
                .backend
                .accounts
                .get(AccountKind::Shop, &line.shop_id.clone().into())
                .await?;
            let window = account
                .and_then(|a| a.settings.return_window_days)
                .map_or(self.policy.window, |days| Duration::days(i64::from(days)));
            windows.push((line.shop_id.clone(), window));
        }
        Ok(windows)
    }

    /// The return that `input` asks of `order` at `now`, checked against the order as it
    /// stands, each line within its shop's window (`windows`).
    #[allow(clippy::too_many_arguments)]
    fn new_return(
        &self,
        order: &Order,
        id: &ReturnId,
        input: &NewReturn,
        key: &str,
        now: Timestamp,
        windows: &[(ShopId, Duration)],
    ) -> Result<OrderReturn> {
        if order.returns.len() >= MAX_RETURNS_PER_ORDER {
            return Err(Error::refused(
                "order",
                format!("has {MAX_RETURNS_PER_ORDER} returns already"),
            ));
        }
        if order.payment.status != PaymentStatus::Paid || order.payment.refund_due_at.is_some() {
            return Err(Error::refused(
                "order",
                "is not paid, or was refunded whole",
            ));
        }
        let mut shop: Option<&ShopId> = None;
        let mut lines = Vec::with_capacity(input.lines.len());
        for item in &input.lines {
            let line = order
                .lines
                .iter()
                .find(|l| l.product_id == item.product_id && l.model_id == item.model_id)
                .ok_or_else(|| Error::not_found("order line"))?;
            if shop.is_some_and(|s| s != &line.shop_id) {
                return Err(Error::validation(
                    "lines",
                    "must all be lines of one shop (ask each shop separately)",
                ));
            }
            shop = Some(&line.shop_id);
            if line.status != OrderStatus::Delivered {
                return Err(Error::refused("order line", "is not delivered"));
            }
            let delivered = line.delivered_at.unwrap_or(order.created_at);
            let window = windows
                .iter()
                .find(|(shop, _)| shop == &line.shop_id)
                .map_or(self.policy.window, |(_, w)| *w);
            if now > delivered + window {
                return Err(Error::refused(
                    "order line",
                    format!(
                        "is past its return window ({} days after delivery)",
                        window.num_days()
                    ),
                ));
            }
            let left = line.quantity.saturating_sub(units_taken(order, line));
            if item.quantity > left {
                return Err(Error::refused(
                    "order line",
                    format!("has {left} units left to return"),
                ));
            }
            lines.push(ReturnLine {
                product_id: item.product_id.clone(),
                model_id: item.model_id.clone(),
                quantity: item.quantity,
                resellable: 0,
                damaged: 0,
                restock: None,
            });
        }
        let shop_id = shop
            .cloned()
            .ok_or_else(|| Error::validation("lines", "must not be empty"))?;
        Ok(OrderReturn {
            id: id.clone(),
            order_id: order.id.clone(),
            shop_id,
            customer_id: order.customer_id.clone(),
            lines,
            reason: input.reason,
            note: input.note.clone(),
            evidence: input.evidence.clone(),
            request_key: key.to_owned(),
            keys: Vec::new(),
            status: ReturnStatus::Requested,
            mode: None,
            rejection: None,
            disputed: false,
            resolution: None,
            refund: None,
            due_at: Some(now + self.policy.answer_within),
            created_at: now,
            updated_at: now,
        })
    }

    /// One of the customer's returns; another's is [`Error::NotFound`].
    pub async fn get(&self, customer: &CustomerId, id: &ReturnId) -> Result<ReturnOf> {
        let found = self.find(id).await?;
        if &found.ret.customer_id != customer {
            return Err(Error::not_found("return"));
        }
        Ok(found)
    }

    /// One of the shop's returns; another shop's is [`Error::NotFound`].
    pub async fn get_for_shop(&self, shop: &ShopId, id: &ReturnId) -> Result<ReturnOf> {
        let found = self.find(id).await?;
        if &found.ret.shop_id != shop {
            return Err(Error::not_found("return"));
        }
        Ok(found)
    }

    /// Any return (the operator's view).
    pub async fn find(&self, id: &ReturnId) -> Result<ReturnOf> {
        let order = self
            .backend
            .orders
            .find_by_return(id)
            .await?
            .ok_or_else(|| Error::not_found("return"))?;
        ReturnOf::of(order, id)
    }

    /// The returns that pass `filter`, newest order first (each order's returns oldest first),
    /// paged by order.
    pub async fn list(&self, filter: &ReturnFilter, page: Page) -> Result<Vec<ReturnOf>> {
        let orders = self.backend.orders.list_with_returns(filter, page).await?;
        Ok(orders
            .into_iter()
            .flat_map(|order| {
                order
                    .returns
                    .iter()
                    .filter(|r| filter.matches(r))
                    .cloned()
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(move |ret| ReturnOf {
                        ret,
                        order: order.clone(),
                    })
            })
            .collect())
    }

    /// Applies `change` to the return `id` of `found`'s order (one conditional write, re-read
    /// and re-checked on a lost race).
    async fn change(
        &self,
        found: ReturnOf,
        actor: Actor,
        mut change: impl FnMut(&Order, &mut OrderReturn, Timestamp) -> Result<()>,
    ) -> Result<ReturnOf> {
        let id = found.ret.id.clone();
        let now = self.backend.clock.now();
        let key = self.key.as_ref().map(IdempotencyKey::as_str);
        let done = update_order(&self.backend, found.order, actor, |current| {
            let mut next = current.clone();
            let index = next
                .returns
                .iter()
                .position(|r| r.id == id)
                .ok_or_else(|| Error::not_found("return"))?;
            let mut ret = next.returns[index].clone();
            if let Some(key) = key {
                if ret.keys.iter().any(|k| k == key) {
                    return Ok(Edit::Keep);
                }
            }
            change(current, &mut ret, now)?;
            if let Some(key) = key {
                ret.keys.push(key.to_owned());
                let extra = ret.keys.len().saturating_sub(MAX_MOVE_KEYS);
                ret.keys.drain(..extra);
            }
            next.returns[index] = ret;
            Ok(Edit::save(next))
        })
        .await?;
        ReturnOf::of(done.after, &id)
    }

    /// The customer withdraws a return before the shop received anything (requested or
    /// accepted for return and refund).
    pub async fn cancel(&self, customer: &CustomerId, id: &ReturnId) -> Result<ReturnOf> {
        let found = self.get(customer, id).await?;
        self.change(found, Actor::Customer, |_, ret, now| {
            ret.become_(ReturnStatus::Cancelled, now, None)
        })
        .await
    }

    /// The shop accepts a request: `ReturnAndRefund` waits for the units
    /// ([`ReturnPolicy::ship_within`]); `RefundOnly` makes the refund due at once.
    pub async fn accept(&self, shop: &ShopId, id: &ReturnId, mode: ReturnMode) -> Result<ReturnOf> {
        let found = self.get_for_shop(shop, id).await?;
        let policy = self.policy;
        let accepted = self
            .change(found, Actor::Shop(shop.clone()), |order, ret, now| {
                accept(order, ret, mode, now, policy)
            })
            .await?;
        Ok(self.refund(accepted).await)
    }

    /// The shop refuses a request, saying why; the customer may dispute it once
    /// ([`ReturnPolicy::dispute_within`]).
    pub async fn reject(&self, shop: &ShopId, id: &ReturnId, reason: &str) -> Result<ReturnOf> {
        let reason = crate::validate::text("reason", reason, 1000)?;
        let found = self.get_for_shop(shop, id).await?;
        let within = self.policy.dispute_within;
        self.change(found, Actor::Shop(shop.clone()), |_, ret, now| {
            ret.become_(ReturnStatus::Rejected, now, Some(now + within))?;
            ret.rejection = Some(reason.clone());
            Ok(())
        })
        .await
    }

    /// The customer disputes a rejection (once); the operator decides ([`Self::resolve`]).
    pub async fn dispute(&self, customer: &CustomerId, id: &ReturnId) -> Result<ReturnOf> {
        let found = self.get(customer, id).await?;
        self.change(found, Actor::Customer, |_, ret, now| {
            if ret.disputed {
                return Err(Error::refused("return", "was disputed already"));
            }
            ret.become_(ReturnStatus::Disputed, now, None)?;
            ret.disputed = true;
            Ok(())
        })
        .await
    }

    /// The operator decides a dispute: a refund of the units asked (at most `amount` when
    /// given; never more than they cost nor than is refundable), or a rejection for good.
    pub async fn resolve(
        &self,
        id: &ReturnId,
        outcome: DisputeOutcome,
        amount: Option<Money>,
    ) -> Result<ReturnOf> {
        if let Some(amount) = amount {
            if amount.minor < 0 {
                return Err(Error::validation("amount", "must not be negative"));
            }
        }
        let found = self.find(id).await?;
        let resolved = self.change(found, Actor::System, |order, ret, now| {
            only_from(ret, ReturnStatus::Disputed, "resolved")?;
            match outcome {
                DisputeOutcome::Reject => {
                    ret.become_(ReturnStatus::Closed, now, None)?;
                    ret.resolution = Some("rejected".to_owned());
                    Ok(())
                }
                DisputeOutcome::Refund => {
                    let due = refund::due_now(order.payment.capture, now);
                    ret.become_(ReturnStatus::Refunding, now, due)?;
                    let units = ret.lines.iter().map(|l| l.quantity).collect();
                    ret.refund = Some(price_refund(order, ret, units, amount, now)?);
                    ret.resolution = Some("refund".to_owned());
                    Ok(())
                }
            }
        });
        Ok(self.refund(resolved.await?).await)
    }

    /// The shop records the units it received (fewer than asked is allowed, at least one),
    /// each line's units resellable or damaged: the refund of the received units is due, and
    /// the resellable units go back to the line's stock record (an adjustment with reason
    /// `return <id>`, applied once even when retried).
    pub async fn receive(
        &self,
        shop: &ShopId,
        id: &ReturnId,
        received: &[ReceivedLine],
    ) -> Result<ReturnOf> {
        input::check_receipt(received)?;
        let found = self.get_for_shop(shop, id).await?;
        let changed = self
            .change(found, Actor::Shop(shop.clone()), |order, ret, now| {
                receive(order, ret, received, now)
            })
            .await?;
        let restocked = restock::restock(&self.backend, changed).await;
        Ok(self.refund(restocked).await)
    }

    /// The shop of a cash-on-delivery order confirms it paid a return's refund by hand.
    pub async fn confirm_refund(&self, shop: &ShopId, id: &ReturnId) -> Result<ReturnOf> {
        let found = self.get_for_shop(shop, id).await?;
        self.change(found, Actor::Shop(shop.clone()), |order, ret, now| {
            if order.payment.capture != Capture::OnDelivery {
                return Err(Error::refused(
                    "return",
                    "is refunded by its payment provider, not by the shop",
                ));
            }
            ret.become_(ReturnStatus::Refunded, now, None)?;
            if let Some(refund) = ret.refund.as_mut() {
                refund.status = RefundStatus::Succeeded;
            }
            Ok(())
        })
        .await
    }

    /// Acts on every return due at `now`: accepts (as return and refund) the requests a shop
    /// left unanswered, closes accepted returns never shipped back and rejections never
    /// disputed, and puts received units back in stock where that did not finish. Safe to run
    /// from several processes at once: each move is a conditional write, so one acts.
    pub async fn sweep(&self) -> Result<ReturnSweep> {
        let now = self.backend.clock.now();
        let mut report = ReturnSweep::default();
        let due = self
            .backend
            .orders
            .list_returns_due(now, SWEEP_BATCH)
            .await?;
        for order in due {
            let ids: Vec<ReturnId> = order
                .returns
                .iter()
                .filter(|r| r.due_at.is_some_and(|at| at <= now))
                .map(|r| r.id.clone())
                .collect();
            for id in ids {
                let found = match self.find(&id).await {
                    Ok(found) => found,
                    Err(e) => {
                        tracing::warn!(return_id = %id, error = %e, "return sweep: read failed");
                        continue;
                    }
                };
                if let Err(e) = self.sweep_one(found, now, &mut report).await {
                    tracing::warn!(return_id = %id, error = %e, "return sweep: move failed");
                }
            }
        }
        Ok(report)
    }

    async fn sweep_one(
        &self,
        found: ReturnOf,
        now: Timestamp,
        report: &mut ReturnSweep,
    ) -> Result<()> {
        if found.ret.due_at.is_none_or(|at| at > now) {
            return Ok(());
        }
        if found.ret.restock_due() {
            let after = restock::restock(&self.backend, found).await;
            if !after.ret.restock_due() {
                report.restocked += 1;
            }
            return Ok(());
        }
        if refund::owed(&found) {
            let after = self.refund(found).await;
            if !refund::owed(&after) {
                report.refunds_requested += 1;
            }
            return Ok(());
        }
        let policy = self.policy;
        let status = found.ret.status;
        let moved = self
            .change(found, Actor::System, |order, ret, now| {
                if ret.status != status || ret.due_at.is_none_or(|at| at > now) {
                    return Err(Error::changed("return"));
                }
                match ret.status {
                    ReturnStatus::Requested => {
                        accept(order, ret, ReturnMode::ReturnAndRefund, now, policy)
                    }
                    ReturnStatus::Accepted | ReturnStatus::Rejected => {
                        ret.become_(ReturnStatus::Closed, now, None)
                    }
                    _ => {
                        ret.set_due(None, now);
                        Ok(())
                    }
                }
            })
            .await;
        match moved {
            Ok(_) if status == ReturnStatus::Requested => report.accepted += 1,
            Ok(_) if matches!(status, ReturnStatus::Accepted | ReturnStatus::Rejected) => {
                report.closed += 1
            }
            Ok(_) => {}
            // Another process (or the shop) moved it first.
            Err(e) if e.is_changed() || matches!(e, Error::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// Refuses (conflict) unless `ret` is `from`: a move the table allows from several statuses
/// that this step may make from one only.
fn only_from(ret: &OrderReturn, from: ReturnStatus, done: &str) -> Result<()> {
    if ret.status == from {
        Ok(())
    } else {
        Err(Error::refused(
            "return",
            format!("cannot be {done} while {}", ret.status.name()),
        ))
    }
}

/// Accepts `ret` of `order` at `now` in `mode`.
fn accept(
    order: &Order,
    ret: &mut OrderReturn,
    mode: ReturnMode,
    now: Timestamp,
    policy: ReturnPolicy,
) -> Result<()> {
    only_from(ret, ReturnStatus::Requested, "accepted")?;
    match mode {
        ReturnMode::ReturnAndRefund => {
            ret.become_(ReturnStatus::Accepted, now, Some(now + policy.ship_within))?;
        }
        ReturnMode::RefundOnly => {
            let due = refund::due_now(order.payment.capture, now);
            ret.become_(ReturnStatus::Refunding, now, due)?;
            let units = ret.lines.iter().map(|l| l.quantity).collect();
            ret.refund = Some(price_refund(order, ret, units, None, now)?);
        }
    }
    ret.mode = Some(mode);
    Ok(())
}

/// Records the receipt `received` of `ret` of `order` at `now`: units per line and condition,
/// the refund of the units received, and the restock still to apply.
fn receive(
    order: &Order,
    ret: &mut OrderReturn,
    received: &[ReceivedLine],
    now: Timestamp,
) -> Result<()> {
    only_from(ret, ReturnStatus::Accepted, "received")?;
    for item in received {
        let line = ret
            .lines
            .iter_mut()
            .find(|l| l.product_id == item.product_id && l.model_id == item.model_id)
            .ok_or_else(|| Error::not_found("return line"))?;
        let total = line.received().saturating_add(item.quantity);
        if total > line.quantity {
            return Err(Error::validation(
                "quantity",
                format!("is more than the {} units asked back", line.quantity),
            ));
        }
        match item.condition {
            crate::returns::Condition::Resellable => line.resellable += item.quantity,
            crate::returns::Condition::Damaged => line.damaged += item.quantity,
        }
    }
    for line in &mut ret.lines {
        if line.received() > 0 {
            line.restock = Some(AdjustmentId::generate());
        }
    }
    let units = ret.lines.iter().map(ReturnLine::received).collect();
    let due = refund::due_now(order.payment.capture, now);
    ret.become_(ReturnStatus::Refunding, now, due)?;
    ret.refund = Some(price_refund(order, ret, units, None, now)?);
    Ok(())
}
