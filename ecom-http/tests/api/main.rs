//! The HTTP API end to end, as one test binary (one link, one executable on disk): each test
//! starts a real server in this process on 127.0.0.1:0, on the memory backend or on MongoDB +
//! Redis, and talks to it over a socket. One module per area; `../support` is shared with the
//! `processes` binary.
//!
//! Run one area with a filter: `cargo test -p ecom-http --test api walkthrough`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod access;
mod adjustments;
mod bad_input;
mod catalogue;
mod concurrency;
mod events;
mod holes;
mod hostile;
mod limits;
mod openapi;
mod payments;
mod races;
mod returns;
mod shop_view;
mod storable;
mod variants;
mod walkthrough;
mod webhooks;
