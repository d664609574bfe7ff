//! The end of a run: everything drained, recovery at rest, the end state checked.

use super::*;
use crate::product::Facets;
use crate::service::CatalogueQuery;

impl World {
    /// Drains every operation and task, recovers to rest and checks the end state.
    pub(super) async fn finish(&mut self) -> Result<(), String> {
        self.trace.push("---- drain".into());
        for process in &mut self.processes {
            process.probe.disarm();
            process.armed = None;
            process
                .probe
                .pause_at("sim.nothing", Arc::default(), Arc::default());
        }
        for (_, _, resume) in self.stalls.drain(..) {
            resume.notify_one();
        }
        while !self.ops.is_empty() {
            let op = self.ops.remove(0);
            let note = self.conclude(op).await?;
            self.trace.push(note);
        }
        // The services go (so does each settler's task, once idle); the probes stay to tell
        // what the last tasks did.
        let (calls_before, _) = self.calls_since();
        let probes: Vec<Probe> = self.processes.drain(..).map(|p| p.probe).collect();
        wait_for_tasks().await?;
        let mut calls = vec![calls_before];
        for (p, probe) in probes.iter().enumerate() {
            calls.extend(probe.calls().iter().map(|c| format!("{}@{p}", c.name)));
        }
        let calls = calls.join(" ");
        let snap = Snapshot::take(&self.fx).await?;
        check::mid_flight(&self.fx, &snap).map_err(|e| format!("drained: {e}"))?;
        self.trace
            .push(format!("drained | {calls} | {}", check::digest(&snap)));
        let ecom = Ecom::new(self.counted.clone(), self.config.clone());
        self.clock.advance(chrono::Duration::hours(1));
        self.recover_to_rest(&ecom).await?;
        self.sweep_to_rest(&ecom).await?;
        self.returns_to_rest(&ecom).await?;
        self.recover_to_rest(&ecom).await?;
        let relayed = ecom.events.relay_all(RECOVERY_PASSES as u32).await;
        let relayed = relayed.map_err(|e| format!("the relay failed without faults: {e:?}"))?;
        self.trace.push(format!("final relayed {relayed}"));
        let snap = Snapshot::take(&self.fx).await?;
        check::at_rest(&self.fx, &snap).map_err(|e| format!("at rest: {e}"))?;
        check::payments_at_rest(&snap, self.clock_now()).map_err(|e| format!("at rest: {e}"))?;
        self.acked_exist(&snap)?;
        self.check_gate(&ecom, &snap).await?;
        self.check_catalogue(&ecom, &snap).await?;
        self.sell_the_rest(&ecom).await?;
        let relayed = ecom.events.relay_all(RECOVERY_PASSES as u32).await;
        relayed.map_err(|e| format!("the relay failed without faults: {e:?}"))?;
        let snap = Snapshot::take(&self.fx).await?;
        check::at_rest(&self.fx, &snap).map_err(|e| format!("sold out: {e}"))?;
        self.check_catalogue(&ecom, &snap).await?;
        self.trace
            .push(format!("sold out | {}", check::digest(&snap)));
        Ok(())
    }

    /// Recovery passes until one finds nothing to do; none may fail (no fault is armed).
    async fn recover_to_rest(&mut self, ecom: &Ecom) -> Result<(), String> {
        for _ in 0..RECOVERY_PASSES {
            let report = ecom
                .checkout
                .recover_stale_checkouts(self.clock_now())
                .await
                .map_err(|e| format!("recovery failed without faults: {e:?}"))?;
            ecom.checkout.flush().await;
            let label = self.recovered(report);
            self.trace.push(format!("final {label}"));
            if report == RecoveryReport::default() {
                return Ok(());
            }
        }
        Err(format!(
            "recovery did not come to rest in {RECOVERY_PASSES} passes"
        ))
    }

    /// Payment sweeps until one finds nothing to do; none may fail (no fault is armed).
    async fn sweep_to_rest(&mut self, ecom: &Ecom) -> Result<(), String> {
        for _ in 0..RECOVERY_PASSES {
            let report = ecom
                .payments
                .sweep(100)
                .await
                .map_err(|e| format!("a payment sweep failed without faults: {e:?}"))?;
            self.stats.expired += u64::from(report.expired);
            self.trace.push(format!(
                "final swept {}/{}/{}",
                report.expired, report.refunds_requested, report.failed
            ));
            if report.failed > 0 {
                return Err(format!("a payment sweep failed on an order: {report:?}"));
            }
            if report == SweepReport::default() {
                return Ok(());
            }
        }
        Err(format!(
            "the payment sweeps did not come to rest in {RECOVERY_PASSES} passes"
        ))
    }

    /// Return sweeps until one finds nothing to do; none may fail (no fault is armed).
    async fn returns_to_rest(&mut self, ecom: &Ecom) -> Result<(), String> {
        for _ in 0..RECOVERY_PASSES {
            let report = ecom
                .returns
                .sweep()
                .await
                .map_err(|e| format!("a return sweep failed without faults: {e:?}"))?;
            self.trace.push(format!("final return sweep {report:?}"));
            if report == crate::service::ReturnSweep::default() {
                return Ok(());
            }
        }
        Err(format!(
            "the return sweeps did not come to rest in {RECOVERY_PASSES} passes"
        ))
    }

    fn acked_exist(&self, snap: &Snapshot) -> Result<(), String> {
        match self.acked.iter().find(|id| !snap.orders.contains_key(*id)) {
            Some(lost) => Err(format!("the acknowledged order {lost} is gone")),
            None => Ok(()),
        }
    }

    /// No admission is left open, and after a reconcile every count of the gate is the
    /// store's stock.
    async fn check_gate(&self, ecom: &Ecom, snap: &Snapshot) -> Result<(), String> {
        let raw = &self.fx.raw;
        let far = self.clock_now() + chrono::Duration::days(1);
        let open = raw.gate.list_stale(far, 1000).await;
        let open = open.map_err(|e| format!("reading the gate failed: {e:?}"))?;
        if !open.is_empty() {
            return Err(format!("gate admissions left open at rest: {open:?}"));
        }
        let reconcile = ecom.inventory.reconcile_gate().await;
        reconcile.map_err(|e| format!("the gate reconcile failed: {e:?}"))?;
        for (i, inv) in snap.stock.iter().enumerate() {
            let counted = raw.gate.available(&inv.product_id).await;
            let counted = counted.map_err(|e| format!("reading the gate failed: {e:?}"))?;
            if counted.is_some_and(|c| c != inv.stock) {
                return Err(format!(
                    "p{i}: the gate counts {counted:?}, the store has {}",
                    inv.stock
                ));
            }
        }
        Ok(())
    }

    /// The catalogue at rest: once `catalogue rebuild` has repaired what a failed refresh may
    /// have left behind (taken into the read model, loaded before it, as its own writes), each
    /// product shows its stock record's units sold and free stock, and the read model's
    /// facets equal a recount over the store's published products.
    async fn check_catalogue(&self, ecom: &Ecom, snap: &Snapshot) -> Result<(), String> {
        let failed = |what: &str, e: Error| format!("{what} failed without faults: {e:?}");
        let all = CatalogueQuery::default();
        ecom.catalogue
            .facets(&all)
            .await
            .map_err(|e| failed("reading facets", e))?;
        let rebuilt = ecom.catalogue.rebuild().await;
        rebuilt.map_err(|e| failed("the catalogue rebuild", e))?;
        for (i, (product, inv)) in self.fx.products.iter().zip(&snap.stock).enumerate() {
            let query = CatalogueQuery {
                shop: Some(product.shop_id.clone()),
                ..CatalogueQuery::default()
            };
            let listing = ecom.catalogue.browse(&query).await;
            let listing = listing.map_err(|e| failed("a listing", e))?;
            let shown = listing.products.iter().find(|p| p.id == product.id);
            let shown = shown.map(|p| (p.sold, p.in_stock));
            if shown != Some((inv.sold, inv.stock > 0)) {
                return Err(format!(
                    "p{i}: the catalogue shows (sold, in stock) {shown:?}, its record ({}, {})",
                    inv.sold,
                    inv.stock > 0
                ));
            }
        }
        let facets = ecom.catalogue.facets(&all).await;
        let facets = facets.map_err(|e| failed("reading facets", e))?;
        let ids: Vec<_> = self.fx.products.iter().map(|p| p.id.clone()).collect();
        let stored = self.fx.raw.products.get_many(&ids).await;
        let stored = stored.map_err(|e| failed("reading the products", e))?;
        let recount = Facets::of(stored.iter().filter(|p| p.is_published));
        if facets != recount {
            return Err(format!(
                "the catalogue's facets {facets:?}, a recount {recount:?}"
            ));
        }
        Ok(())
    }

    /// Liveness: a new customer buys the whole rest of each product, and one more unit is
    /// refused as out of stock.
    async fn sell_the_rest(&mut self, ecom: &Ecom) -> Result<(), String> {
        for i in 0..self.fx.products.len() {
            let product = self.fx.products[i].clone();
            let inv = self.fx.raw.inventory.get(&product.id).await;
            let left = inv.ok().flatten().map_or(0, |inv| inv.stock);
            let customer = CustomerId::generate();
            self.fx.customers.push(customer.clone());
            let buy = |units: u64| {
                let units = u32::try_from(units).unwrap_or(u32::MAX);
                let request = CheckoutRequest::new([ShopOrder::new(
                    product.shop_id.clone(),
                    [(product.id.clone(), units)],
                )]);
                ecom.checkout.place_order(&customer, place(request, None))
            };
            if left > 0 {
                buy(left)
                    .await
                    .map_err(|e| format!("p{i}: the last {left} units could not be sold: {e:?}"))?;
            }
            match buy(1).await {
                Err(Error::InsufficientStock { .. }) => {}
                other => return Err(format!("p{i}: sold out, yet a unit more got {other:?}")),
            }
        }
        ecom.checkout.flush().await;
        Ok(())
    }
}

/// Waits (on the paused clock) until every task has ended: checkouts whose callers were
/// aborted, group-commit drivers, and the settler once its service is gone.
async fn wait_for_tasks() -> Result<(), String> {
    let metrics = tokio::runtime::Handle::current().metrics();
    for _ in 0..10_000 {
        if metrics.num_alive_tasks() == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "{} tasks never ended (a checkout or settler hangs)",
        metrics.num_alive_tasks()
    ))
}
