//! # ecom
//!
//! An embeddable commerce engine: shops sell products of plug-in kinds, customers fill carts,
//! apply discount codes and check out, and stock never oversells under concurrency.
//!
//! This facade re-exports the crates: [`core`] (always; domain, ports, services), the in-process
//! [`memory`] backend (feature `memory`, default), `mongo` (feature `mongo`), `redis` (feature
//! `redis`) and `http` (feature `http`).
//!
//! ```
//! use ecom::{memory, Ecom, EcomConfig, Secret};
//! use ecom::core::api_key::Permission;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ecom::Error> {
//! let ecom = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
//! let key = ecom.api_keys.create(vec![Permission::P0000]).await?;
//! ecom.api_keys.check(&key.key, Permission::P0000).await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use ecom_core as core;
#[doc(inline)]
pub use ecom_core::{
    Backend, Currency, Ecom, EcomConfig, Error, Money, PaymentProvider, PaymentProviders,
    ProductKind, ProductKindRegistry, Result, Secret,
};

/// In-process adapters: the lock and stock gate (always), the in-process backend (feature
/// `memory`).
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
#[doc(inline)]
pub use ecom_core::memory;

/// The MongoDB backend (feature `mongo`).
#[cfg(feature = "mongo")]
#[cfg_attr(docsrs, doc(cfg(feature = "mongo")))]
#[doc(inline)]
pub use ecom_mongo as mongo;

/// The Redis lock and stock gate (feature `redis`).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(inline)]
pub use ecom_redis as redis;

/// The REST server (feature `http`).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use ecom_http as http;

/// The README's Rust snippets, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
