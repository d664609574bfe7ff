//! The stock and code-use side of a checkout: holding an order's lines and codes before it is
//! placed, giving them back when it is not, and settling them once it is.
//!
//! Every hold of a checkout carries the id of the order it would place, so holding, giving back
//! and settling are idempotent, and recovery can always tell whose hold it is. How a line's
//! stock is held is the strategy's business ([`Strategy`]).

use super::settler::{Placed, Settler};
use super::strategy::Strategy;
use crate::backend::Backend;
use crate::clock::Timestamp;
use crate::discount::Redemption;
use crate::error::Result;
use crate::id::ProductId;
use crate::inventory::Reservation;
use crate::order::{AppliedDiscount, Order, OrderLine};
use crate::service::catalogue::sold::refresh_stock;
use std::sync::Arc;

/// The hold of an order's line (its id is the order's).
pub(crate) fn line_hold(order: &Order, line: &OrderLine, at: Timestamp) -> Reservation {
    Reservation {
        id: order.id.to_string(),
        order_id: order.id.clone(),
        quantity: line.quantity,
        created_at: at,
    }
}

/// The use of a code by an order (its id is the order's).
pub(crate) fn code_use(order: &Order, at: Timestamp) -> Redemption {
    Redemption {
        id: order.id.to_string(),
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        at,
    }
}

/// The stock records of `order`'s lines.
pub(crate) fn stock_ids(order: &Order) -> Vec<ProductId> {
    order.lines.iter().map(|l| l.stock_id().clone()).collect()
}

/// Holds, gives back and settles the stock and code uses of checkouts. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Holds {
    inner: Arc<HoldsInner>,
}

#[derive(Debug)]
struct HoldsInner {
    backend: Backend,
    strategy: Arc<dyn Strategy>,
    settler: Settler,
}

impl Holds {
    pub(crate) fn new(backend: Backend, strategy: Arc<dyn Strategy>) -> Self {
        Holds {
            inner: Arc::new(HoldsInner {
                settler: Settler::new(backend.clone(), strategy.clone()),
                backend,
                strategy,
            }),
        }
    }

    /// Holds every line and code of `order`, all or nothing from the caller's view: on an
    /// error, some holds may be open; [`Holds::give_back`] closes them.
    pub(crate) async fn hold(&self, order: &Order, at: Timestamp) -> Result<()> {
        let strategy = &self.inner.strategy;
        strategy.admit(order, at).await?;
        for line in &order.lines {
            strategy
                .reserve(line.stock_id(), line_hold(order, line, at))
                .await?;
        }
        for applied in &order.discounts {
            self.inner
                .backend
                .discounts
                .redeem(&applied.discount_id, &code_use(order, at))
                .await?;
        }
        Ok(())
    }

    /// Gives back whatever `order`'s checkout may hold (it will never be placed). Idempotent.
    /// Returns false if something could not be given back now; what stays open is recovery's.
    pub(crate) async fn give_back(&self, order: &Order, at: Timestamp) -> bool {
        let mut complete = true;
        let mut log = |what: &str, result: Result<()>| {
            if let Err(e) = result {
                complete = false;
                tracing::warn!(order_id = %order.id, error = %e, "giving back {what} failed; recovery will");
            }
        };
        // Products some of whose units came back (their free stock may be back).
        let mut restocked = Vec::new();
        for line in &order.lines {
            let hold = line_hold(order, line, at);
            let released = self
                .inner
                .backend
                .inventory
                .release(line.stock_id(), std::slice::from_ref(&hold))
                .await;
            if matches!(released, Ok(units) if units > 0) {
                restocked.push(line.product_id.clone());
            }
            log("stock", released.map(drop));
        }
        for applied in &order.discounts {
            let released = self
                .inner
                .backend
                .discounts
                .release(&applied.discount_id, &code_use(order, at))
                .await;
            log("a code use", released.map(drop));
        }
        let released = self
            .inner
            .strategy
            .release(order.id.as_str(), &stock_ids(order))
            .await;
        log("the admission", released);
        refresh_stock(&self.inner.backend, restocked).await;
        complete
    }

    /// Settles `order`'s holds into sold stock and taken uses, in the background (batched per
    /// stock record), and forgets its admission. Failures are logged; recovery settles what
    /// stays open.
    pub(crate) fn settle_in_background(&self, order: &Order, at: Timestamp) {
        self.inner.settler.push(Placed::of(order, at));
    }

    /// Settles `order`'s holds now (idempotent).
    pub(crate) async fn settle(&self, order: &Order, at: Timestamp) -> Result<()> {
        for line in &order.lines {
            let hold = line_hold(order, line, at);
            self.inner
                .backend
                .inventory
                .settle(line.stock_id(), std::slice::from_ref(&hold))
                .await?;
        }
        for AppliedDiscount { discount_id, .. } in &order.discounts {
            self.inner
                .backend
                .discounts
                .settle(discount_id, &code_use(order, at))
                .await?;
        }
        if let Err(e) = self
            .inner
            .strategy
            .settled(order.id.as_str(), &stock_ids(order))
            .await
        {
            tracing::warn!(order_id = %order.id, error = %e, "forgetting an admission failed; recovery will");
        }
        Ok(())
    }

    /// Waits until every background settle started so far has ended.
    pub(crate) async fn flush(&self) {
        self.inner.settler.flush().await;
    }
}
