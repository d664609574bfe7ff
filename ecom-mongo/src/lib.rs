//! # ecom-mongo
//!
//! MongoDB implementations of ecom's repository ports. The adapters arrive with the
//! "ecom-mongo" issue; until then this crate only re-exports the ports it will implement.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ecom_core::Backend;
