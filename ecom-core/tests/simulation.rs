//! Deterministic simulation of the checkout saga (see `ecom_core::testkit::sim`).
//!
//! - CI: `cargo test -p ecom-core --all-features --test simulation` runs `ECOM_SIM_SEEDS`
//!   seeds (default [`CI_SEEDS`]) from `ECOM_SIM_FIRST_SEED` (default 0); seed `n` runs the
//!   strategy `n % 3` (atomic, lock_then_reserve, gate), one test per strategy.
//! - Replay one seed exactly: `ECOM_SIM_SEED=n cargo test -p ecom-core --all-features --test
//!   simulation -- --nocapture` (add `ECOM_SIM_TRACE=1` to print its whole trace).
//! - A long run: `ECOM_SIM_SEEDS=100000 cargo test --release -p ecom-core --all-features --test
//!   simulation`.

use ecom_core::testkit::sim::{self, SimConfig, SimReport, SimStats};

/// Seeds of a CI run, split across the three strategies.
const CI_SEEDS: u64 = 3000;

fn env(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name} must be a number, got {value:?}"),
    }
}

/// The seeds the test of strategy `index` runs.
fn seeds(index: u64) -> Vec<u64> {
    if let Some(seed) = env("ECOM_SIM_SEED") {
        return if seed % 3 == index {
            vec![seed]
        } else {
            Vec::new()
        };
    }
    let first = env("ECOM_SIM_FIRST_SEED").unwrap_or(0);
    let count = env("ECOM_SIM_SEEDS").unwrap_or(CI_SEEDS);
    (first..first + count).filter(|s| s % 3 == index).collect()
}

fn run_seed(seed: u64) -> SimReport {
    sim::quiet_injected_panics();
    let report = sim::run(seed, SimConfig::for_seed(seed));
    if std::env::var_os("ECOM_SIM_TRACE").is_some() {
        println!("{}", report.trace.join("\n"));
    }
    if report.failure.is_some() {
        panic!("{}", report.explain(60));
    }
    report
}

/// Runs the strategy's seeds; a run of a hundred seeds or more must also have exercised what
/// the simulator is for (else it has gone blind).
fn run_strategy(index: u64) {
    let seeds = seeds(index);
    let started = std::time::Instant::now();
    let mut totals = SimStats::default();
    for &seed in &seeds {
        totals += &run_seed(seed).stats;
    }
    println!(
        "strategy {index}: {} seeds in {:.1?}: {totals:?}",
        seeds.len(),
        started.elapsed()
    );
    if seeds.len() >= 100 {
        assert_covered(&totals);
    }
}

fn assert_covered(t: &SimStats) {
    let covered = [
        ("orders placed", t.placed),
        ("checkouts refused", t.refused),
        ("cancels", t.cancels),
        ("operations killed", t.died),
        ("operations aborted", t.aborted),
        ("process crashes", t.crashes),
        ("failed calls", t.faults[0]),
        ("lost replies", t.faults[1]),
        ("panics", t.faults[2]),
        ("lease jumps", t.lease_jumps),
        ("checkouts rolled back by recovery", t.rolled_back),
        ("checkouts completed by recovery", t.completed),
        ("returns finished by recovery", t.returns_finished),
    ];
    for (what, n) in covered {
        assert!(n > 0, "no {what} in the whole run: {t:?}");
    }
}

#[test]
fn atomic() {
    run_strategy(0);
}

#[test]
fn lock_then_reserve() {
    run_strategy(1);
}

#[test]
fn gate() {
    run_strategy(2);
}

/// Seeds that found bugs, run whatever the range: with recovery taking return claims over
/// before settling stale holds, each of these (atomic, lock_then_reserve, gate) ended with a
/// return that no recovery pass could finish (a dead superseded claimant's hold; see
/// `crash::a_dead_superseded_claimant_does_not_block_recovery`). A seed stands for a scenario
/// only as long as the simulator draws the same way: after changing what it draws, find new
/// ones by reverting the fix.
const PINNED: &[u64] = &[291, 643, 59];

#[test]
fn pinned_seeds() {
    for &seed in PINNED {
        run_seed(seed);
    }
}

/// Seeds whose runs are compared with a second run.
const REPLAYED: u64 = 30;

/// A seed runs the same way twice: the same actions, the same port calls in the same order,
/// the same outcomes and the same store after every step.
#[test]
fn a_seed_replays_exactly() {
    for seed in 0..REPLAYED {
        let first = run_seed(seed);
        let second = run_seed(seed);
        assert!(
            first.trace.len() > 100,
            "seed {seed} ran: {:?}",
            first.trace
        );
        if let Some(step) =
            (0..first.trace.len()).find(|&i| first.trace.get(i) != second.trace.get(i))
        {
            panic!(
                "seed {seed} ran differently from line {step}:\n{:?}\n{:?}",
                first.trace.get(step),
                second.trace.get(step)
            );
        }
        assert_eq!(first.trace, second.trace);
        assert_eq!(first.stats, second.stats);
    }
}
