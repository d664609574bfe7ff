//! # ecom-core
//!
//! The heart of ecom, an embeddable commerce engine: domain types, the ports (one repository
//! trait per aggregate, a [`DistributedLock`](lock::DistributedLock) and a
//! [`Clock`](clock::Clock)), the product-kind registry, the services (use cases), the in-process
//! lock and gate ([`in_process`]), the in-process store (feature `memory`), and (feature
//! `testkit`) the conformance suite every backend passes.
//!
//! Data flows one way: caller -> [`service`] -> ports ([`Backend`]) -> adapter.
//!
//! ```
//! use ecom_core::service::{NewProduct, SignupInput};
//! use ecom_core::{memory, Currency, Ecom, EcomConfig, Money, Secret};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ecom_core::Error> {
//! let ecom = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
//! let (shop, _session) = ecom
//!     .auth
//!     .signup_shop(SignupInput::new("Tee Shop", "owner@tee.example", "correct horse battery"))
//!     .await?;
//! let tee = NewProduct::new("Plain tee", "Clothing", Money::new(1999, Currency::USD), 10)
//!     .with_attribute("brand", "Acme")
//!     .with_attribute("size", "M");
//! let product = ecom.products.create(&shop, tee).await?;
//! assert_eq!(product.price.minor, 1999);
//! assert_eq!(ecom.inventory.get(&shop, &product.id).await?.total.stock, 10);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod account;
pub mod api_key;
pub mod backend;
pub mod cart;
pub mod category;
pub mod clock;
pub mod discount;
pub mod error;
pub mod event;
pub mod gate;
pub mod id;
pub mod idempotency;
pub mod in_process;
pub mod inventory;
pub mod key_store;
pub mod kind;
pub mod lock;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub mod memory;
pub mod money;
pub mod order;
pub mod page;
pub mod payment;
pub mod product;
pub mod product_sort;
pub mod returns;
pub mod search;
pub mod secret;
pub mod service;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
pub mod validate;
pub mod variant;
pub mod webhook;

pub use account::AccountKind;
pub use backend::Backend;
pub use error::{ConflictReason, Error, Result};
pub use kind::{ProductKind, ProductKindRegistry};
pub use money::{Currency, Money};
pub use payment::{PaymentProvider, PaymentProviders};
pub use secret::{Password, Secret};
pub use service::{Ecom, EcomConfig};
