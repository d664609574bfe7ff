//! Judging the operations that ended: their answers must agree with the store.

use super::*;

impl World {
    /// Judges every operation that has ended, in the order they started.
    pub(super) async fn reap(&mut self) -> Result<Vec<String>, String> {
        let mut notes = Vec::new();
        let mut i = 0;
        while i < self.ops.len() {
            if self.ops[i].handle.is_finished() {
                let op = self.ops.remove(i);
                notes.push(self.conclude(op).await?);
            } else {
                i += 1;
            }
        }
        Ok(notes)
    }

    pub(super) async fn conclude(&mut self, op: Op) -> Result<String, String> {
        let label = match op.handle.await {
            Ok(done) => self.judge(done).await,
            Err(e) => self.judge_death(e),
        };
        let label = label.map_err(|e| format!("op{} ({}): {e}", op.id, op.what))?;
        Ok(format!("op{} {label}", op.id))
    }

    fn judge_death(&mut self, e: JoinError) -> Result<String, String> {
        if e.is_cancelled() {
            self.stats.aborted += 1;
            return Ok("aborted".into());
        }
        let message = payload_text(&*e.into_panic());
        if !injected(&message) {
            return Err(format!("panicked: {message}"));
        }
        self.stats.died += 1;
        Ok(format!("died ({message})"))
    }

    async fn judge(&mut self, done: Done) -> Result<String, String> {
        match done {
            Done::Place {
                customer,
                key,
                result: Ok(order),
                ..
            } => {
                self.acknowledged(customer, key, &order).await?;
                self.stats.placed += 1;
                Ok(format!("placed {}", self.name(&order.id)))
            }
            Done::Place {
                started,
                result: Err(Error::Unavailable(message)),
                ..
            } if message == GIVEN_UP => {
                // Recovery gives up only checkouts whose holds outlived the lease.
                let ran = self.clock.now() - started;
                if ran < self.config.checkout.lease {
                    return Err(format!(
                        "a checkout was given up by recovery after {ran}, within its lease"
                    ));
                }
                self.stats.refused += 1;
                Ok("given up".into())
            }
            Done::Place { result: Err(e), .. } => {
                let refused = matches!(
                    e,
                    Error::InsufficientStock { .. }
                        | Error::DiscountNotApplicable(_)
                        | Error::Unavailable(_)
                        | Error::Busy(_)
                );
                self.stats.refused += u64::from(refused);
                expected(refused, &e)
            }
            Done::Cancel(Ok(order)) => {
                if order.status != OrderStatus::Cancelled {
                    return Err(format!("a cancel answered a {:?} order", order.status));
                }
                self.stats.cancels += 1;
                Ok("cancelled".into())
            }
            Done::Update(Ok(_)) => {
                self.stats.cancels += 1;
                Ok("updated".into())
            }
            Done::Cancel(Err(e)) | Done::Update(Err(e)) => expected(
                matches!(e, Error::Conflict { .. } | Error::Unavailable(_)),
                &e,
            ),
            Done::Recover(Ok(report)) => Ok(self.recovered(report)),
            Done::AddStock(Ok(_)) => Ok("stocked".into()),
            Done::Reconcile(Ok(r)) => Ok(format!(
                "reconciled {}/{}/{}",
                r.checked, r.corrected, r.busy
            )),
            // Two claimants of one order's return (a takeover and a slow claimant, or a shop's
            // new claim and a running one) may both reopen a line's units from `sold`; the one
            // that finds it short answers a conflict and its claim is taken over later. Only
            // the final passes, with nothing else running, must never fail.
            Done::Recover(Err(e)) => expected(
                matches!(e, Error::Unavailable(_) | Error::Conflict { .. }),
                &e,
            ),
            Done::Pay(Ok(_)) => {
                self.stats.callbacks += 1;
                Ok("callback applied".into())
            }
            // A cash order refuses callbacks; money for a cancelled order is refused (and
            // refunded); a cancel inside a failure callback can find its order moved.
            Done::Pay(Err(e)) => expected(
                matches!(e, Error::Conflict { .. } | Error::Unavailable(_)),
                &e,
            ),
            Done::Sweep(Ok(report)) => {
                self.stats.expired += u64::from(report.expired);
                Ok(format!(
                    "swept {}/{}/{}",
                    report.expired, report.refunds_requested, report.failed
                ))
            }
            Done::Sweep(Err(e)) => expected(matches!(e, Error::Unavailable(_)), &e),
            Done::Return(done) => match *done {
                Ok(found) => {
                    self.stats.returns += 1;
                    Ok(format!("return {:?}", found.ret.status))
                }
                // Moves the table forbids, racing moves that lost, receipts of more than was
                // asked, and (with faults) a store that failed.
                Err(e) => expected(
                    matches!(
                        e,
                        Error::Conflict { .. }
                            | Error::Validation { .. }
                            | Error::Unavailable(_)
                            | Error::Busy(_)
                    ),
                    &e,
                ),
            },
            Done::ReturnSweep(Ok(r)) => Ok(format!(
                "return sweep {}/{}/{}/{}",
                r.accepted, r.closed, r.restocked, r.refunds_requested
            )),
            Done::ReturnSweep(Err(e)) => expected(matches!(e, Error::Unavailable(_)), &e),
            Done::Relay(Ok(report)) => Ok(format!("relayed {}/{}", report.moved, report.failed)),
            Done::Relay(Err(e)) => expected(matches!(e, Error::Unavailable(_)), &e),
            Done::AddStock(Err(e)) | Done::Reconcile(Err(e)) => {
                expected(matches!(e, Error::Unavailable(_)), &e)
            }
        }
    }

    pub(super) fn recovered(&mut self, report: RecoveryReport) -> String {
        self.stats.rolled_back += u64::from(report.rolled_back);
        self.stats.completed += u64::from(report.completed);
        self.stats.returns_finished += u64::from(report.returns_finished);
        format!(
            "recovered {}/{}/{}",
            report.rolled_back, report.completed, report.returns_finished
        )
    }

    /// An order a checkout answered with is in the store, the customer's, under the key asked
    /// for; and every answer for one key is the same order.
    async fn acknowledged(
        &mut self,
        customer: usize,
        key: Option<String>,
        order: &Order,
    ) -> Result<(), String> {
        let stored = self.fx.raw.orders.get(&order.id).await;
        let stored = stored.map_err(|e| format!("reading an order failed: {e:?}"))?;
        let Some(stored) = stored else {
            return Err(format!(
                "an acknowledged order {} is not in the store",
                order.id
            ));
        };
        if stored.customer_id != self.fx.customers[customer]
            || stored.idempotency_key != order.idempotency_key
        {
            return Err(format!("the order {} answered is another's", order.id));
        }
        if let Some(key) = key {
            if order.idempotency_key != key {
                return Err(format!("the key {key} answered an order of another key"));
            }
            let first = self
                .acked_keys
                .entry((customer, key.clone()))
                .or_insert_with(|| order.id.clone());
            if first != &order.id {
                return Err(format!("two orders answered for the key {key}"));
            }
        }
        self.acked.push(order.id.clone());
        Ok(())
    }
}

/// `Ok` with the error's kind if it was `allowed`, else the failure.
fn expected(allowed: bool, e: &Error) -> Result<String, String> {
    match allowed {
        true => Ok(kind(e).into()),
        false => Err(format!("unexpected error: {e:?}")),
    }
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::InsufficientStock { .. } => "out of stock",
        Error::DiscountNotApplicable(_) => "code refused",
        Error::Unavailable(_) => "unavailable",
        Error::Busy(_) => "busy",
        Error::Conflict { .. } => "conflict",
        Error::AlreadyExists { .. } => "already exists",
        _ => "other",
    }
}
