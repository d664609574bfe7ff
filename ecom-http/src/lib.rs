//! # ecom-http
//!
//! ecom's REST server. The router arrives with the "ecom-http" issue; until then this crate
//! only re-exports the service bundle it will serve.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ecom_core::Ecom;
