//! Deterministic simulation (after TigerBeetle's VOPR and FoundationDB's simulator): one seed
//! drives many concurrent checkouts, cancels, recovery passes and restocks on the memory
//! backend, injects faults, and checks every invariant after every step. The same seed always
//! runs the same way, so a failure replays exactly.
//!
//! Each seed runs on a fresh current-thread tokio runtime with paused time, so tasks run in
//! one deterministic order and timers (lock waits, the probe's pauses) fire only when the
//! simulator moves time. Every random choice comes from one generator seeded with the seed:
//! the fixture (stock, code limits, configuration) and every step.
//!
//! Two server processes (two sets of services, each seeing the store through its own
//! [`Probe`]) share one store; every operation runs in one of them. At each step one action:
//!
//! - start an operation on a task of its own: a checkout (`place_order`: one to three lines
//!   over two shops, with or without each shop's code, without a key, with a new key, or
//!   reusing one of the customer's keys; paid cash on delivery or online), a customer's
//!   cancel, a shop's line update (cancel, confirm, ship, deliver), a recovery pass, a stock
//!   addition, a gate reconcile, a signed provider callback (paid, failed, refunded) on an
//!   order, a payment sweep (expiring unpaid online orders, asking for refunds due), a return
//!   of delivered units or a move of one (accept, reject, receive part resellable and part
//!   damaged, cancel, dispute, the operator's decision, a shop's cash refund, the provider's
//!   refund callback), a return sweep;
//! - run the tasks one round (every ready task is polled once; a [`Probe`] with seeded jitter
//!   adds yields and short sleeps around every port call, so operations interleave);
//! - arm a fault for the n-th next write or the n-th next call of a name: a failing call, a
//!   call that takes effect but loses its reply, or a panic that kills the task half-way;
//! - abort an operation (its future is dropped; a checkout's own task runs on);
//! - crash a process: every task of it dies at its next port call, its in-memory state (key
//!   turns, group-commit queues, the settler's queue) is lost, and a fresh process takes its
//!   place;
//! - stall the next call of a name until a later step resumes it (a slow process);
//! - move time a little (both clocks), or jump the business clock past the checkout lease.
//!
//! After every step the store itself (read beside the probes, at one instant) must hold, even
//! with operations half-way:
//!
//! - per product, `stock + sold + held + damaged == received` (every unit inserted or added,
//!   counted where the store took it), and `sold +` the holds of existing orders (but those of
//!   returns the order recorded) `==` the units of order lines not returned, less the units
//!   returns took back: no line's units were given back while its order holds it, none sold
//!   twice;
//! - per order, every refund of its returns together at most what was paid, and no line asked
//!   back beyond its quantity;
//! - per code, `uses <= max_uses`, and `uses` is exactly the uses of orders not returned, of
//!   checkouts before their commit point and of returns not yet given back; per customer the
//!   same orders, within `max_uses_per_customer`;
//! - one order per customer and key; an order's status rolls up from its lines; only
//!   cancelled lines (and codes of all-cancelled shop parts) are returned;
//! - a cancelled order's payment is not pending, and if paid it has a refund due; an online
//!   order's shipped lines were paid for; a cash order is paid exactly when delivered.
//!
//! At the end, past every expiry and after the sweeps: no payment is still due.
//!
//! An operation that ends is judged too: an acknowledged order is in the store under its key,
//! every answer for one key is the same order, errors are only the expected ones (out of
//! stock, a code refused, busy, unavailable, a conflict where one may be) and panics only the
//! injected ones. At the end every operation and task is drained, faults are disarmed, the
//! clock jumps past the lease, recovery runs until it finds nothing to do (never failing), and
//! the store must be at rest: nothing open (holds, code uses, gate admissions, return claims),
//! every cancelled line returned and nothing else, so stock and code uses are exactly the live
//! orders; the stock gate (after a reconcile) counts the store's stock; and the rest of every
//! product can be sold, and not a unit more.
//!
//! ```no_run
//! use ecom_core::testkit::sim::{self, SimConfig};
//! let report = sim::run(42, SimConfig::for_seed(42));
//! assert!(report.failure.is_none(), "{}", report.explain(40));
//! ```

mod actions;
mod check;
mod end;
mod fixture;
mod judge;
mod ledger;
mod setup;
#[cfg(test)]
mod tests;

use self::check::Snapshot;
use self::fixture::{Code, Fixture};
use self::ledger::Ledger;
use super::checkout::{create_code, place};
use super::probe::{Fault, FaultMode, Probe, Target};
use crate::backend::Backend;
use crate::clock::{Clock, ManualClock};
use crate::error::Error;
use crate::id::{CustomerId, OrderId, ShopId};
use crate::order::{Order, OrderStatus};
use crate::secret::Secret;
use crate::service::{
    CheckoutRequest, CheckoutStrategy, Ecom, EcomConfig, GateReconcile, ItemRequest,
    LineStatusChange, RecoveryReport, ShopOrder, StatusUpdate, SweepReport, GIVEN_UP,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::{JoinError, JoinHandle};

/// Steps of a CI run of one seed.
const STEPS: usize = 250;
/// Server processes sharing the store.
const PROCESSES: usize = 2;
/// Customers buying.
const CUSTOMERS: usize = 4;
/// Operations in flight at most; past it, starting one runs a round instead.
const MAX_IN_FLIGHT: usize = 10;
/// Calls stalled at most at once.
const MAX_STALLS: usize = 3;
/// Passes recovery gets at the end to come to rest.
const RECOVERY_PASSES: usize = 6;
/// How long an online order may stay unpaid in a run (a few lease jumps).
const PAYMENT_TIMEOUT: i64 = 90;
/// The business clock's start: 2030-01-01T00:00:00Z.
const START: i64 = 1_893_456_000;

/// What one run simulates.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The checkout strategy of the services.
    pub strategy: CheckoutStrategy,
    /// Scheduler steps before the run drains.
    pub steps: usize,
    /// Server processes sharing the store.
    pub processes: usize,
}

impl SimConfig {
    /// The configuration `seed` runs with: strategy `seed % 3` of [`CheckoutStrategy::ALL`],
    /// and the CI number of steps.
    pub fn for_seed(seed: u64) -> Self {
        let all = CheckoutStrategy::ALL;
        let index = usize::try_from(seed % all.len() as u64).unwrap_or(0);
        SimConfig {
            strategy: all[index].1,
            steps: STEPS,
            processes: PROCESSES,
        }
    }
}

/// What happened in a run, for coverage totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Operations started.
    pub ops: u64,
    /// Checkouts that answered with an order.
    pub placed: u64,
    /// Checkouts refused (out of stock, code not applicable, busy, unavailable).
    pub refused: u64,
    /// Cancels and line updates that went through.
    pub cancels: u64,
    /// Operations killed by an injected panic.
    pub died: u64,
    /// Operations aborted by the simulator.
    pub aborted: u64,
    /// Processes crashed.
    pub crashes: u64,
    /// Faults that fired, by mode: error, lost reply, panic.
    pub faults: [u64; 3],
    /// Jumps of the business clock past the lease.
    pub lease_jumps: u64,
    /// Checkouts recovery rolled back.
    pub rolled_back: u64,
    /// Placed checkouts recovery completed.
    pub completed: u64,
    /// Returns recovery finished.
    pub returns_finished: u64,
    /// Provider callbacks that went through.
    pub callbacks: u64,
    /// Unpaid online orders the sweeps cancelled.
    pub expired: u64,
    /// Moves of returns that went through (requests, decisions, receipts, refunds).
    pub returns: u64,
}

impl std::ops::AddAssign<&SimStats> for SimStats {
    fn add_assign(&mut self, other: &SimStats) {
        self.ops += other.ops;
        self.placed += other.placed;
        self.refused += other.refused;
        self.cancels += other.cancels;
        self.died += other.died;
        self.aborted += other.aborted;
        self.crashes += other.crashes;
        for (mine, theirs) in self.faults.iter_mut().zip(other.faults) {
            *mine += theirs;
        }
        self.lease_jumps += other.lease_jumps;
        self.rolled_back += other.rolled_back;
        self.completed += other.completed;
        self.returns_finished += other.returns_finished;
        self.callbacks += other.callbacks;
        self.expired += other.expired;
        self.returns += other.returns;
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// The checkout strategy it ran with.
    pub strategy: CheckoutStrategy,
    /// One line per step (the action, what ended, the port calls made, a digest of the
    /// store), then the drain and the end checks. Equal for equal seeds.
    pub trace: Vec<String>,
    /// Totals.
    pub stats: SimStats,
    /// The first broken invariant, if any.
    pub failure: Option<String>,
}

impl SimReport {
    /// A run that could not start.
    fn failed(seed: u64, config: &SimConfig, failure: String) -> Self {
        SimReport {
            seed,
            strategy: config.strategy,
            trace: Vec::new(),
            stats: SimStats::default(),
            failure: Some(failure),
        }
    }

    /// The command that replays this seed.
    pub fn replay_command(&self) -> String {
        format!(
            "ECOM_SIM_SEED={} cargo test -p ecom-core --all-features --test simulation",
            self.seed
        )
    }

    /// The failure (if any), the last `tail` lines of the trace and the replay command.
    pub fn explain(&self, tail: usize) -> String {
        let from = self.trace.len().saturating_sub(tail);
        format!(
            "seed {} ({}): {}\n--- trace (last {} lines)\n{}\n--- replay: {}",
            self.seed,
            self.strategy.name(),
            self.failure.as_deref().unwrap_or("no failure"),
            self.trace.len() - from,
            self.trace[from..].join("\n"),
            self.replay_command()
        )
    }
}

/// Runs one seed on a fresh current-thread runtime with paused time.
pub fn run(seed: u64, config: SimConfig) -> SimReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(simulate(seed, config)),
        Err(e) => SimReport::failed(seed, &config, format!("no runtime: {e}")),
    }
}

/// Keeps the panics the simulator injects (and the ones they cause in a group commit's
/// waiting callers) out of the test output; every other panic is printed as usual.
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !injected(&payload_text(info.payload())) {
                default(info);
            }
        }));
    });
}

/// Whether a panic message is one the simulator caused.
fn injected(message: &str) -> bool {
    message.starts_with("injected crash at ") || message == "the batch holding this write died"
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    }
}

async fn simulate(seed: u64, config: SimConfig) -> SimReport {
    let mut world = match World::new(seed, &config).await {
        Ok(world) => world,
        Err(e) => return SimReport::failed(seed, &config, format!("set-up failed: {e}")),
    };
    let mut outcome = Ok(());
    for n in 0..config.steps {
        outcome = world.step(n).await;
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() {
        outcome = world.finish().await;
    }
    if outcome.is_err() {
        if let Ok(snap) = Snapshot::take(&world.fx).await {
            world.trace.push("---- the store".into());
            world.trace.extend(check::dump(&world.fx, &snap));
        }
    }
    SimReport {
        seed,
        strategy: config.strategy,
        trace: std::mem::take(&mut world.trace),
        stats: world.stats.clone(),
        failure: outcome.err(),
    }
}

/// A checkout key a customer used, with the request it first went with.
#[derive(Debug)]
struct Keyed {
    customer: usize,
    key: String,
    request: CheckoutRequest,
}

/// What an operation answered.
enum Done {
    Place {
        customer: usize,
        key: Option<String>,
        /// The business clock when it started.
        started: crate::clock::Timestamp,
        result: crate::Result<Order>,
    },
    Cancel(crate::Result<Order>),
    Update(crate::Result<Order>),
    Recover(crate::Result<RecoveryReport>),
    AddStock(crate::Result<crate::inventory::Inventory>),
    Reconcile(crate::Result<GateReconcile>),
    Pay(crate::Result<Order>),
    Sweep(crate::Result<SweepReport>),
    Relay(crate::Result<crate::service::RelayReport>),
    Return(Box<crate::Result<crate::service::ReturnOf>>),
    ReturnSweep(crate::Result<crate::service::ReturnSweep>),
}

/// An operation in flight.
struct Op {
    id: usize,
    what: String,
    handle: JoinHandle<Done>,
}

/// One server process: the services under test, seeing the store through their own probe.
struct Process {
    probe: Probe,
    ecom: Ecom,
    /// The mode of the fault armed in the probe, until it fires.
    armed: Option<FaultMode>,
}

/// The state of one run.
struct World {
    rng: StdRng,
    fx: Fixture,
    clock: Arc<ManualClock>,
    config: EcomConfig,
    /// The backend with the ledger, without any probe.
    counted: Backend,
    /// Yields at most around each call, in every process's probe.
    jitter: u32,
    /// The processes; gone once the run drains.
    processes: Vec<Process>,
    ops: Vec<Op>,
    next_op: usize,
    keys: Vec<Keyed>,
    /// The order acknowledged for each (customer, key).
    acked_keys: BTreeMap<(usize, String), OrderId>,
    /// Every order acknowledged.
    acked: Vec<OrderId>,
    /// Order names for the trace, in the order they were first seen.
    names: BTreeMap<OrderId, usize>,
    /// The store as of the last step's end (the checks passed on it), and its digest.
    snap: Snapshot,
    digest: String,
    /// Stalled calls: the process, the call, and what lets it go.
    stalls: Vec<(usize, &'static str, Arc<Notify>)>,
    trace: Vec<String>,
    stats: SimStats,
}
