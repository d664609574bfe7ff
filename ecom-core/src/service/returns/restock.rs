//! Taking received units back: after the receipt's write, each line's adjustment
//! ([`StockChange::Returned`]: out of `sold`, resellable units back to free stock, damaged ones
//! aside) is applied by its id in one atomic step (a retry applies nothing twice), the gate
//! follows an adjustment applied for the first time, and the return forgets the ids it
//! applied. What does not finish is retried by the sweep ([`RETRY_AFTER`]).

use super::ReturnOf;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::inventory::{NewAdjustment, StockChange};
use crate::service::catalogue::sold::refresh_stock;
use crate::service::inventory::follow_adjustment;
use crate::service::order_events::Actor;
use crate::service::order_update::{update_order, Edit};

/// Applies the restocks `found`'s return still owes and records that they were; returns the
/// return as it stands after (as before on failure: logged, the sweep retries).
pub(super) async fn restock(backend: &Backend, found: ReturnOf) -> ReturnOf {
    match apply(backend, &found).await {
        Ok(after) => after,
        Err(e) => {
            tracing::warn!(return_id = %found.ret.id, error = %e, "restock failed; the sweep retries");
            found
        }
    }
}

async fn apply(backend: &Backend, found: &ReturnOf) -> Result<ReturnOf> {
    let ret = &found.ret;
    let mut applied = Vec::new();
    for line in &ret.lines {
        let Some(id) = &line.restock else { continue };
        let stock_id = crate::variant::stock_id(&line.product_id, line.model_id.as_ref()).clone();
        let at = backend.clock.now();
        let adjusted = backend
            .inventory
            .adjust(&NewAdjustment {
                id: id.clone(),
                product_id: stock_id.clone(),
                model_id: line.model_id.clone(),
                change: StockChange::Returned {
                    resellable: line.resellable,
                    damaged: line.damaged,
                },
                reason: format!("return {}", ret.id),
                by: ret.shop_id.clone(),
                at,
            })
            .await?;
        // An adjustment applied by an earlier try comes back as it was recorded then.
        if adjusted.adjustment.created_at == at {
            follow_adjustment(backend, &stock_id, adjusted.adjustment.delta).await;
        }
        applied.push(id.clone());
    }
    refresh_stock(backend, ret.lines.iter().map(|l| l.product_id.clone())).await;
    let return_id = ret.id.clone();
    let now = backend.clock.now();
    let done = update_order(backend, found.order.clone(), Actor::System, |current| {
        let mut next = current.clone();
        let ret = next
            .returns
            .iter_mut()
            .find(|r| r.id == return_id)
            .ok_or_else(|| Error::not_found("return"))?;
        let mut changed = false;
        for line in &mut ret.lines {
            if line.restock.as_ref().is_some_and(|id| applied.contains(id)) {
                line.restock = None;
                changed = true;
            }
        }
        if changed {
            // What stays due is the refund, if one is still to be asked of the provider.
            let owed = super::refund::owes(current, ret);
            ret.set_due(owed.then_some(now), now);
        }
        Ok(if changed {
            Edit::save(next)
        } else {
            Edit::Keep
        })
    })
    .await?;
    ReturnOf::of(done.after, &return_id)
}
