//! # ecom-http
//!
//! ecom's REST server: [`router`] builds the axum [`Router`](axum::Router) of the whole API
//! (its contract is the OpenAPI document served at `/openapi.json`: `/v1/api/...` routes, the success and error envelopes, API keys
//! and tokens in headers) over an [`AppState`]; [`serve`] runs it on a listener from a
//! [`Config`]; the `ecom-server` binary wraps both with a command line.
//!
//! Embedding the API in an axum application of your own, on any backend:
//!
//! ```
//! use ecom_core::{memory, Ecom, EcomConfig, Secret};
//! use ecom_core::api_key::Permission;
//! use ecom_http::{router, AppState};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! let ecom = Ecom::new(memory::backend(), EcomConfig::new(Secret::random()));
//! let key = ecom.api_keys.create(vec![Permission::P0000]).await?;
//! let app: axum::Router = router(AppState::new(ecom));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = tokio::spawn(async move { axum::serve(listener, app).await });
//! // ... clients call http://{addr}/v1/api/... with `x-api-key: {key.key}` ...
//! # let _ = (addr, key);
//! server.abort();
//! # Ok(())
//! # }
//! ```
//!
//! Or run it from configuration (feature `server`; defaults < TOML file < `ECOM_*` env <
//! flags; see `config`):
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> anyhow::Result<()> {
//! let config = ecom_http::Config::default();
//! let listener = tokio::net::TcpListener::bind(config.bind).await?;
//! ecom_http::serve(config, listener, ecom_http::shutdown_signal()).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod config;
pub mod dto;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod fields;
pub mod http_config;
pub mod layers;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod routes;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
pub mod state;
pub mod webhook_client;

#[cfg(feature = "server")]
pub use config::{CheckedEndpoint, Config, ConnectionString, DeclaredEndpoint, Settings};
pub use error::AppError;
pub use http_config::HttpConfig;
pub use routes::{openapi_doc, router};
#[cfg(feature = "server")]
pub use server::{build_ecom, serve, serve_ecom, shutdown_signal};
pub use state::AppState;
