//! The scheduler: one step is one action chosen by the seed, then the checks.

use super::*;

/// Calls a fault may name: every write of the checkout, cancel and recovery paths, and the
/// reads they settle questions with.
const NAMED: &[&str] = &[
    "inventory.reserve",
    "inventory.release",
    "inventory.settle",
    "inventory.settle_many",
    "inventory.unsettle",
    "inventory.add_stock",
    "inventory.get",
    "discounts.redeem",
    "discounts.release",
    "discounts.settle",
    "discounts.unsettle",
    "orders.insert",
    "orders.void",
    "orders.replace",
    "orders.get",
    "orders.find_by_key",
    "orders.list_payments_due",
    "carts.remove_lines",
    "products.get_many",
    "gate.admit",
    "gate.release",
    "gate.commit",
    "gate.add",
    "lock.acquire",
    "events.append",
    "outboxes.clear",
];

/// Calls the simulator may stall.
const STALLABLE: &[&str] = &[
    "orders.insert",
    "inventory.reserve",
    "discounts.redeem",
    "carts.remove_lines",
    "orders.replace",
    "inventory.unsettle",
    "gate.admit",
    "inventory.settle_many",
];

/// One scheduler action.
#[derive(Clone, Copy, Debug)]
enum Action {
    Round,
    Place,
    Cancel,
    ShopUpdate,
    Recover,
    AddStock,
    Reconcile,
    Pay,
    Sweep,
    Relay,
    Arm,
    Abort,
    Crash,
    LeaseJump,
    Tick,
    Stall,
    Resume,
    Return,
    ReturnSweep,
}

/// How often each action is chosen.
const ACTIONS: &[(Action, u32)] = &[
    (Action::Round, 46),
    (Action::Place, 14),
    (Action::Cancel, 3),
    (Action::ShopUpdate, 3),
    (Action::Recover, 3),
    (Action::AddStock, 2),
    (Action::Reconcile, 1),
    (Action::Pay, 3),
    (Action::Sweep, 2),
    (Action::Relay, 3),
    (Action::Arm, 6),
    (Action::Abort, 2),
    (Action::Crash, 1),
    (Action::LeaseJump, 2),
    (Action::Tick, 12),
    (Action::Stall, 2),
    (Action::Resume, 4),
    (Action::Return, 10),
    (Action::ReturnSweep, 1),
];

impl World {
    /// One step: an action, then the operations that ended are judged, then every check.
    pub(super) async fn step(&mut self, n: usize) -> Result<(), String> {
        let action = self.choose();
        let label = self.act(action).await?;
        let mut notes = self.reap().await?;
        notes.extend(self.note_faults());
        let (calls, wrote) = self.calls_since();
        // Every write goes through a probe: without one the store is as checked last step.
        let checked = match wrote {
            true => self.look().await,
            false => Ok(()),
        };
        self.trace.push(format!(
            "{n:>4} {label} | {} | {calls} | {}",
            notes.join("; "),
            self.digest
        ));
        checked.map_err(|e| format!("step {n} ({label}): {e}"))
    }

    /// Reads the store again and checks every invariant.
    async fn look(&mut self) -> Result<(), String> {
        self.snap = Snapshot::take(&self.fx).await?;
        self.digest = check::digest(&self.snap);
        check::mid_flight(&self.fx, &self.snap)
    }

    fn choose(&mut self) -> Action {
        let total: u32 = ACTIONS.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.gen_range(0..total);
        for &(action, weight) in ACTIONS {
            if roll < weight {
                return action;
            }
            roll -= weight;
        }
        Action::Round
    }

    async fn act(&mut self, action: Action) -> Result<String, String> {
        let busy = self.ops.len() >= MAX_IN_FLIGHT;
        match action {
            Action::Place if !busy => self.start_place(),
            Action::Cancel if !busy => self.start_cancel().await,
            Action::ShopUpdate if !busy => self.start_update().await,
            Action::Recover if !busy => self.start_recover(),
            Action::AddStock if !busy => self.start_add_stock(),
            Action::Reconcile if !busy => self.start_reconcile(),
            Action::Pay if !busy => self.start_pay().await,
            Action::Sweep if !busy => self.start_sweep(),
            Action::Relay if !busy => self.start_relay(),
            Action::Return if !busy => self.start_return().await,
            Action::ReturnSweep if !busy => self.start_return_sweep(),
            Action::Arm => Ok(self.arm()),
            Action::Abort if !self.ops.is_empty() => Ok(self.abort()),
            Action::Crash => Ok(self.crash()),
            Action::LeaseJump => Ok(self.lease_jump()),
            Action::Tick => Ok(self.tick().await),
            Action::Stall if self.stalls.len() < MAX_STALLS => Ok(self.stall()),
            Action::Resume if !self.stalls.is_empty() => Ok(self.resume()),
            _ => Ok(round().await),
        }
    }

    fn spawn(
        &mut self,
        p: usize,
        what: String,
        work: impl Future<Output = Done> + Send + 'static,
    ) -> String {
        let id = self.next_op;
        self.next_op += 1;
        self.stats.ops += 1;
        let what = format!("{what}@{p}");
        let label = format!("op{id} {what}");
        self.ops.push(Op {
            id,
            what,
            handle: tokio::spawn(work),
        });
        label
    }

    fn start_place(&mut self) -> Result<String, String> {
        let c = self.rng.gen_range(0..CUSTOMERS);
        let (key, request) = self.pick_key(c);
        let what = format!(
            "place c{c} {} {}",
            key.as_deref().unwrap_or("-"),
            self.describe(&request)
        );
        let p = self.process();
        let ecom = self.services(p)?;
        let customer = self.fx.customers[c].clone();
        let method = match self.rng.gen_bool(0.5) {
            true => "online",
            false => "cod",
        };
        let input = place(request, key.as_deref()).with_payment(method);
        let started = self.clock.now();
        Ok(self.spawn(p, what, async move {
            let result = ecom.checkout.place_order(&customer, input).await;
            Done::Place {
                customer: c,
                key,
                started,
                result,
            }
        }))
    }

    /// No key (3 in 10), a new key (4 in 10), or one of the customer's keys again, mostly with
    /// the request it first went with.
    fn pick_key(&mut self, customer: usize) -> (Option<String>, CheckoutRequest) {
        let own: Vec<usize> = (0..self.keys.len())
            .filter(|&k| self.keys[k].customer == customer)
            .collect();
        let roll = self.rng.gen_range(0..10);
        if roll < 3 && !own.is_empty() {
            let k = own[self.rng.gen_range(0..own.len())];
            let request = match self.rng.gen_bool(0.7) {
                true => self.keys[k].request.clone(),
                false => self.new_request(),
            };
            return (Some(self.keys[k].key.clone()), request);
        }
        let request = self.new_request();
        if roll < 7 {
            let key = format!("k{}", self.keys.len());
            self.keys.push(Keyed {
                customer,
                key: key.clone(),
                request: request.clone(),
            });
            return (Some(key), request);
        }
        (None, request)
    }

    /// One to three products, one to three units each, grouped by shop; each shop's code
    /// two times in five.
    fn new_request(&mut self) -> CheckoutRequest {
        let lines = self.rng.gen_range(1..=3);
        let mut picked: Vec<usize> = (0..self.fx.products.len()).collect();
        picked.shuffle(&mut self.rng);
        picked.truncate(lines);
        picked.sort_unstable();
        let mut shops = Vec::new();
        for (s, shop) in self.fx.shops.iter().enumerate() {
            let mut items = Vec::new();
            for &p in &picked {
                if &self.fx.products[p].shop_id == shop {
                    items.push(ItemRequest {
                        model_id: None,
                        product_id: self.fx.products[p].id.clone(),
                        quantity: self.rng.gen_range(1..=3),
                    });
                }
            }
            if items.is_empty() {
                continue;
            }
            let code = self
                .rng
                .gen_bool(0.4)
                .then(|| self.fx.codes[s].code.clone());
            shops.push(ShopOrder {
                shop_id: shop.clone(),
                code,
                items,
            });
        }
        CheckoutRequest { shops }
    }

    fn describe(&self, request: &CheckoutRequest) -> String {
        let mut parts = Vec::new();
        for shop in &request.shops {
            for item in &shop.items {
                let p = self.fx.product_index(&item.product_id);
                parts.push(format!("p{p}x{}", item.quantity));
            }
            if shop.code.is_some() {
                let s = self.fx.shops.iter().position(|x| x == &shop.shop_id);
                parts.push(format!("+c{}", s.unwrap_or(usize::MAX)));
            }
        }
        parts.join(",")
    }

    /// Every order in the store, by id.
    fn stored_orders(&self) -> Vec<Order> {
        self.snap.orders.values().cloned().collect()
    }

    pub(super) fn name(&mut self, id: &OrderId) -> String {
        let next = self.names.len();
        format!("o{}", self.names.entry(id.clone()).or_insert(next))
    }

    async fn start_cancel(&mut self) -> Result<String, String> {
        let orders = self.stored_orders();
        if orders.is_empty() {
            return Ok(round().await);
        }
        let order = &orders[self.rng.gen_range(0..orders.len())];
        let what = format!("cancel {}", self.name(&order.id));
        let p = self.process();
        let (ecom, customer, id) = (
            self.services(p)?,
            order.customer_id.clone(),
            order.id.clone(),
        );
        Ok(self.spawn(p, what, async move {
            Done::Cancel(ecom.orders.cancel(&customer, &id).await)
        }))
    }

    /// A shop moves one of its lines (or, one time in three, all of them): cancelled (6 in 10),
    /// confirmed or shipped.
    async fn start_update(&mut self) -> Result<String, String> {
        let orders = self.stored_orders();
        if orders.is_empty() {
            return Ok(round().await);
        }
        let order = &orders[self.rng.gen_range(0..orders.len())];
        let line = &order.lines[self.rng.gen_range(0..order.lines.len())];
        let shop = line.shop_id.clone();
        let status = match self.rng.gen_range(0..10) {
            0..=5 => OrderStatus::Cancelled,
            6..=7 => OrderStatus::Confirmed,
            8 => OrderStatus::Shipped,
            _ => OrderStatus::Delivered,
        };
        let product_ids = match self.rng.gen_range(0..3) {
            0 => order
                .lines_of(&shop)
                .map(|l| l.product_id.clone())
                .collect(),
            _ => vec![line.product_id.clone()],
        };
        let names: Vec<String> = product_ids
            .iter()
            .map(|p| format!("p{}", self.fx.product_index(p)))
            .collect();
        let what = format!(
            "shop {} {} {status:?}",
            self.name(&order.id),
            names.join(",")
        );
        let update = StatusUpdate {
            lines: vec![LineStatusChange {
                product_ids,
                status,
            }],
            ..StatusUpdate::default()
        };
        let p = self.process();
        let (ecom, id) = (self.services(p)?, order.id.clone());
        Ok(self.spawn(p, what, async move {
            Done::Update(ecom.orders.update_status(&shop, &id, update).await)
        }))
    }

    /// The online provider reports on a stored order: paid (6 in 10), failed (3 in 10) or
    /// refunded, signed when the call runs; a cash order refuses it.
    async fn start_pay(&mut self) -> Result<String, String> {
        let orders = self.stored_orders();
        if orders.is_empty() {
            return Ok(round().await);
        }
        let order = orders[self.rng.gen_range(0..orders.len())].clone();
        let kind = match self.rng.gen_range(0..10) {
            0..=5 => "payment.succeeded",
            6..=8 => "payment.failed",
            _ => "refund.succeeded",
        };
        let event = format!("e{}", self.next_op);
        let what = format!("pay {} {kind}", self.name(&order.id));
        let p = self.process();
        let ecom = self.services(p)?;
        Ok(self.spawn(p, what, async move {
            let callback = super::super::payments::genuine(&ecom, &event, kind, &order);
            Done::Pay(ecom.payments.callback("online", &callback).await)
        }))
    }

    fn start_sweep(&mut self) -> Result<String, String> {
        let p = self.process();
        let ecom = self.services(p)?;
        let limit = self.rng.gen_range(1..=5);
        Ok(self.spawn(p, format!("sweep {limit}"), async move {
            Done::Sweep(ecom.payments.sweep(limit).await)
        }))
    }

    /// A customer asks units of a delivered line back (or, when returns exist, six times in ten
    /// one of them moves): the shop accepts (either mode), rejects or receives part resellable
    /// and part damaged; the customer cancels or disputes; the operator decides; a cash refund
    /// is confirmed by the shop, an online one reported by the provider (paid or failed).
    /// Moves the table forbids are refused.
    async fn start_return(&mut self) -> Result<String, String> {
        let orders = self.stored_orders();
        let asked: Vec<(Order, crate::returns::OrderReturn)> = orders
            .iter()
            .flat_map(|o| o.returns.iter().map(move |r| (o.clone(), r.clone())))
            .collect();
        let delivered: Vec<(Order, usize)> = orders
            .iter()
            .flat_map(|o| {
                o.lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.status == OrderStatus::Delivered)
                    .map(move |(i, _)| (o.clone(), i))
            })
            .collect();
        let p = self.process();
        let ecom = self.services(p)?;
        // Half the time (always while nothing is delivered) a shop takes a line through the
        // steps left to delivery, so that there is something to return.
        let moving: Vec<(Order, usize)> = orders
            .iter()
            .flat_map(|o| {
                o.lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| {
                        matches!(
                            l.status,
                            OrderStatus::Pending | OrderStatus::Confirmed | OrderStatus::Shipped
                        )
                    })
                    .map(move |(i, _)| (o.clone(), i))
            })
            .collect();
        if !moving.is_empty() && (delivered.is_empty() || self.rng.gen_bool(0.5)) {
            let (order, i) = moving[self.rng.gen_range(0..moving.len())].clone();
            return Ok(self.start_fulfil(p, ecom, order, i));
        }
        if !delivered.is_empty() && (asked.is_empty() || self.rng.gen_bool(0.4)) {
            let (order, i) = delivered[self.rng.gen_range(0..delivered.len())].clone();
            return Ok(self.start_request(p, ecom, order, i));
        }
        if asked.is_empty() {
            return Ok(round().await);
        }
        let (order, ret) = asked[self.rng.gen_range(0..asked.len())].clone();
        Ok(self.start_return_move(p, ecom, order, ret))
    }

    /// A shop takes line `i` of `order` through the steps left to delivery.
    fn start_fulfil(&mut self, p: usize, ecom: Ecom, order: Order, i: usize) -> String {
        let line = &order.lines[i];
        let steps: Vec<OrderStatus> = [
            OrderStatus::Confirmed,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
        ]
        .into_iter()
        .skip(match line.status {
            OrderStatus::Pending => 0,
            OrderStatus::Confirmed => 1,
            _ => 2,
        })
        .collect();
        let what = format!(
            "fulfil {} p{}",
            self.name(&order.id),
            self.fx.product_index(&line.product_id)
        );
        let (shop, id, product) = (
            line.shop_id.clone(),
            order.id.clone(),
            line.product_id.clone(),
        );
        self.spawn(p, what, async move {
            let mut last = Err(crate::Error::not_found("order line"));
            for status in steps {
                let update = StatusUpdate {
                    lines: vec![LineStatusChange {
                        product_ids: vec![product.clone()],
                        status,
                    }],
                    ..StatusUpdate::default()
                };
                last = ecom.orders.update_status(&shop, &id, update).await;
                if last.is_err() {
                    break;
                }
            }
            Done::Update(last)
        })
    }

    /// The customer of `order` asks units of its delivered line `i` back.
    fn start_request(&mut self, p: usize, ecom: Ecom, order: Order, i: usize) -> String {
        let line = &order.lines[i];
        let units = self.rng.gen_range(1..=line.quantity);
        let what = format!(
            "return {} p{}x{units}",
            self.name(&order.id),
            self.fx.product_index(&line.product_id)
        );
        let input = crate::service::NewReturn {
            lines: vec![crate::service::ReturnItem {
                product_id: line.product_id.clone(),
                model_id: None,
                quantity: units,
            }],
            reason: crate::returns::ReturnReason::Damaged,
            note: None,
            evidence: Vec::new(),
            request_key: None,
        };
        self.spawn(p, what, async move {
            Done::Return(Box::new(
                ecom.returns
                    .request(&order.customer_id, &order.id, input)
                    .await,
            ))
        })
    }

    /// One move of `ret` (a return of `order`), chosen at random; moves the table forbids are
    /// refused.
    fn start_return_move(
        &mut self,
        p: usize,
        ecom: Ecom,
        order: Order,
        ret: crate::returns::OrderReturn,
    ) -> String {
        let (shop, customer, id) = (ret.shop_id.clone(), ret.customer_id.clone(), ret.id.clone());
        let index = order.returns.iter().position(|r| r.id == id).unwrap_or(0);
        let name = format!("{}/r{index}", self.name(&order.id));
        let (product, asked_units) = (ret.lines[0].product_id.clone(), ret.lines[0].quantity);
        let resellable = self.rng.gen_range(0..=asked_units);
        let damaged = self
            .rng
            .gen_range(0..=asked_units - resellable)
            .max(u32::from(resellable == 0));
        let failed = self.rng.gen_bool(0.3);
        let event = format!("e{}", self.next_op);
        let step = self.rng.gen_range(0..9);
        use crate::returns::{Condition, ReturnMode};
        use crate::service::{DisputeOutcome, ReceivedLine};
        let (what, work): (String, std::pin::Pin<Box<dyn Future<Output = Done> + Send>>) =
            match step {
                0 | 1 => {
                    let mode = match step {
                        0 => ReturnMode::ReturnAndRefund,
                        _ => ReturnMode::RefundOnly,
                    };
                    (
                        format!("accept {name} {mode:?}"),
                        Box::pin(async move {
                            Done::Return(Box::new(ecom.returns.accept(&shop, &id, mode).await))
                        }),
                    )
                }
                2 => (
                    format!("reject {name}"),
                    Box::pin(async move {
                        Done::Return(Box::new(ecom.returns.reject(&shop, &id, "worn").await))
                    }),
                ),
                3 => {
                    let mut lines = Vec::new();
                    for (units, condition) in [
                        (resellable, Condition::Resellable),
                        (damaged, Condition::Damaged),
                    ] {
                        if units > 0 {
                            lines.push(ReceivedLine {
                                product_id: product.clone(),
                                model_id: None,
                                quantity: units,
                                condition,
                            });
                        }
                    }
                    (
                        format!("receive {name} {resellable}+{damaged}"),
                        Box::pin(async move {
                            Done::Return(Box::new(ecom.returns.receive(&shop, &id, &lines).await))
                        }),
                    )
                }
                4 => (
                    format!("cancel {name}"),
                    Box::pin(async move {
                        Done::Return(Box::new(ecom.returns.cancel(&customer, &id).await))
                    }),
                ),
                5 => (
                    format!("dispute {name}"),
                    Box::pin(async move {
                        Done::Return(Box::new(ecom.returns.dispute(&customer, &id).await))
                    }),
                ),
                6 | 7 => {
                    let outcome = match step {
                        6 => DisputeOutcome::Refund,
                        _ => DisputeOutcome::Reject,
                    };
                    (
                        format!("resolve {name} {outcome:?}"),
                        Box::pin(async move {
                            Done::Return(Box::new(ecom.returns.resolve(&id, outcome, None).await))
                        }),
                    )
                }
                _ if order.payment.capture == crate::payment::Capture::OnDelivery => (
                    format!("refund-paid {name}"),
                    Box::pin(async move {
                        Done::Return(Box::new(ecom.returns.confirm_refund(&shop, &id).await))
                    }),
                ),
                _ => {
                    let kind = if failed {
                        "refund.failed"
                    } else {
                        "refund.succeeded"
                    };
                    let amount = ret
                        .refund
                        .as_ref()
                        .map_or_else(|| "1.00".to_owned(), |r| r.amount.major_string());
                    (
                        format!("{kind} {name}"),
                        Box::pin(async move {
                            let callback = super::super::returns::refund_callback(
                                &ecom,
                                &event,
                                kind,
                                &order,
                                id.as_str(),
                                &amount,
                            );
                            Done::Pay(ecom.payments.callback("online", &callback).await)
                        }),
                    )
                }
            };
        self.spawn(p, what, work)
    }

    fn start_return_sweep(&mut self) -> Result<String, String> {
        let p = self.process();
        let ecom = self.services(p)?;
        Ok(self.spawn(p, "return sweep".into(), async move {
            Done::ReturnSweep(ecom.returns.sweep().await)
        }))
    }

    fn start_relay(&mut self) -> Result<String, String> {
        let p = self.process();
        let ecom = self.services(p)?;
        Ok(self.spawn(p, "relay".into(), async move {
            Done::Relay(ecom.events.relay().await)
        }))
    }

    fn start_recover(&mut self) -> Result<String, String> {
        let p = self.process();
        let (ecom, now) = (self.services(p)?, self.clock_now());
        Ok(self.spawn(p, "recover".into(), async move {
            Done::Recover(ecom.checkout.recover_stale_checkouts(now).await)
        }))
    }

    fn start_add_stock(&mut self) -> Result<String, String> {
        let i = self.rng.gen_range(0..self.fx.products.len());
        let units = self.rng.gen_range(1..=4);
        let p = self.process();
        let ecom = self.services(p)?;
        let product = &self.fx.products[i];
        let (shop, id) = (product.shop_id.clone(), product.id.clone());
        Ok(self.spawn(p, format!("add p{i}+{units}"), async move {
            Done::AddStock(
                ecom.inventory
                    .add_stock(&shop, &id, None, units, None)
                    .await,
            )
        }))
    }

    fn start_reconcile(&mut self) -> Result<String, String> {
        let p = self.process();
        let ecom = self.services(p)?;
        Ok(self.spawn(p, "reconcile".into(), async move {
            Done::Reconcile(ecom.inventory.reconcile_gate().await)
        }))
    }

    pub(super) fn clock_now(&self) -> crate::clock::Timestamp {
        crate::clock::Clock::now(&*self.clock)
    }

    /// A fault in one process, at one of its next six writes (two times in three) or at one of
    /// its next two calls of a name: an error (2 in 5), a lost reply (7 in 20) or a panic (1 in
    /// 4).
    fn arm(&mut self) -> String {
        let p = self.process();
        let mode = match self.rng.gen_range(0..20) {
            0..=7 => FaultMode::Error,
            8..=14 => FaultMode::ErrorAfter,
            _ => FaultMode::Panic,
        };
        let target = match self.rng.gen_range(0..3) {
            0 => Target::Named(
                NAMED[self.rng.gen_range(0..NAMED.len())],
                self.rng.gen_range(0..2),
            ),
            _ => Target::Write(self.rng.gen_range(0..6)),
        };
        let label = format!("arm@{p} {target:?} {mode:?}");
        self.processes[p].probe.arm(Fault::at(target, mode));
        self.processes[p].armed = Some(mode);
        label
    }

    /// The faults that fired since the last step (each is disarmed).
    fn note_faults(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        for (p, process) in self.processes.iter_mut().enumerate() {
            let Some(call) = process.probe.fired() else {
                continue;
            };
            process.probe.disarm();
            let Some(mode) = process.armed.take() else {
                continue;
            };
            let index = match mode {
                FaultMode::Error => 0,
                FaultMode::ErrorAfter => 1,
                FaultMode::Panic => 2,
            };
            self.stats.faults[index] += 1;
            notes.push(format!("{mode:?} hit {}@{p}", call.name));
        }
        notes
    }

    /// Crashes a process: every task of it dies at its next port call (its stalled calls are let
    /// go into the crash), and a fresh process takes its place.
    fn crash(&mut self) -> String {
        let p = self.process();
        let fresh = self.start_process();
        let dead = std::mem::replace(&mut self.processes[p], fresh);
        dead.probe.kill();
        self.stalls.retain(|(q, _, resume)| {
            if *q == p {
                resume.notify_one();
            }
            *q != p
        });
        self.stats.crashes += 1;
        format!("crash process {p}")
    }

    fn abort(&mut self) -> String {
        let op = &self.ops[self.rng.gen_range(0..self.ops.len())];
        op.handle.abort();
        format!("abort op{}", op.id)
    }

    fn lease_jump(&mut self) -> String {
        self.stats.lease_jumps += 1;
        self.clock
            .advance(self.config.checkout.lease + chrono::Duration::seconds(1));
        "lease jump".into()
    }

    /// Moves both clocks by a millisecond (half the time), up to half a second, or up to six
    /// seconds (past a lock's TTL).
    async fn tick(&mut self) -> String {
        let millis = match self.rng.gen_range(0..10) {
            0..=4 => 1,
            5..=7 => self.rng.gen_range(2..500),
            _ => self.rng.gen_range(1_000..6_000),
        };
        self.clock.advance(chrono::Duration::milliseconds(millis));
        tokio::time::advance(Duration::from_millis(millis.unsigned_abs())).await;
        format!("tick {millis}ms")
    }

    fn stall(&mut self) -> String {
        let p = self.process();
        let name = STALLABLE[self.rng.gen_range(0..STALLABLE.len())];
        let resume = Arc::new(Notify::new());
        self.processes[p]
            .probe
            .pause_at(name, Arc::default(), resume.clone());
        self.stalls.push((p, name, resume));
        format!("stall@{p} {name}")
    }

    fn resume(&mut self) -> String {
        let (p, name, resume) = self.stalls.remove(self.rng.gen_range(0..self.stalls.len()));
        resume.notify_one();
        format!("resume@{p} {name}")
    }

    /// The port calls each process made since the last step, and whether one was a write.
    pub(super) fn calls_since(&self) -> (String, bool) {
        let (mut names, mut wrote) = (Vec::new(), false);
        for (p, process) in self.processes.iter().enumerate() {
            let calls = process.probe.calls();
            process.probe.clear();
            wrote |= calls.iter().any(|c| c.write);
            names.extend(calls.iter().map(|c| format!("{}@{p}", c.name)));
        }
        (names.join(" "), wrote)
    }
}

/// The tasks run one round: every ready task is polled once.
async fn round() -> String {
    tokio::task::yield_now().await;
    "round".into()
}
