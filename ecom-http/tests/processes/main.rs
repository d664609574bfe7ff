//! Tests that start `ecom-server` processes: the binary itself (no configuration, SIGTERM,
//! `apikey create`, configuration errors) and faults under load (`chaos`: three servers, a
//! store and Redis killed and restarted mid-run).
//!
//! A binary of their own, apart from the in-process API tests (`../api`): the chaos run keeps
//! three servers, `secantusd-rs`, Redis and 200 clients busy for a while, and `cargo test` runs
//! test binaries one after another, so these processes never compete for the CPUs with the
//! API tests' servers (several of which measure time: payment expiry, leases, rate limits).
//!
//! `cargo test -p ecom-http --test processes chaos` runs the chaos test alone
//! (`scripts/chaos.sh` runs it longer, on every strategy).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod binary;
mod chaos;
