//! # ecom-core
//!
//! The heart of ecom, an embeddable commerce engine: domain types, the ports (one repository
//! trait per aggregate, a [`DistributedLock`](lock::DistributedLock) and a
//! [`Clock`](clock::Clock)), the product-kind registry, the services (use cases), the in-process
//! [`memory`] backend, and (feature `testkit`) the conformance suite every backend passes.
//!
//! Data flows one way: caller -> [`service`] -> ports ([`Backend`]) -> adapter.
//!
//! ```
//! use ecom_core::{memory, AccountKind, Ecom, EcomConfig, Secret};
//! use ecom_core::service::{NewProduct, SignupInput};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ecom_core::Error> {
//! let ecom = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
//! let shop = ecom
//!     .auth
//!     .signup(AccountKind::Shop, SignupInput {
//!         name: "Tee Shop".into(),
//!         email: "owner@tee.example".into(),
//!         password: "correct horse battery".into(),
//!     })
//!     .await?;
//! let product = ecom
//!     .products
//!     .create(&shop.account.id.clone().into(), serde_json::from_value(serde_json::json!({
//!         "product_name": "Plain tee",
//!         "product_thumb": "tee.png",
//!         "product_price": 19.99,
//!         "product_quantity": 10,
//!         "product_type": "Clothing",
//!         "product_attributes": {"brand": "Acme", "size": "M"}
//!     })).map_err(|e| ecom_core::Error::validation("body", e))?)
//!     .await?;
//! assert_eq!(product.price.minor, 1999);
//! let stock = ecom.backend().inventory.get(&product.id).await?;
//! assert_eq!(stock.map(|s| s.stock), Some(10));
//! # let _: Option<NewProduct> = None;
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
pub mod clock;
pub mod discount;
pub mod error;
pub mod gate;
pub mod id;
pub mod inventory;
pub mod key_store;
pub mod kind;
pub mod lock;
pub mod memory;
pub mod money;
pub mod order;
pub mod page;
pub mod product;
pub mod secret;
pub mod service;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
pub mod validate;

pub use account::AccountKind;
pub use backend::Backend;
pub use error::{Error, Result};
pub use kind::{ProductKind, ProductKindRegistry};
pub use money::{Currency, Money};
pub use secret::{Password, Secret};
pub use service::{Ecom, EcomConfig};
