//! The settings of the router itself ([`HttpConfig`]): what an application mounting
//! [`router`](crate::router) may tune. The server's own settings are in `config` (feature
//! `server`).

use std::time::Duration;

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Settings of the HTTP layer itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// Longest time a request may take (503 beyond).
    pub request_timeout: Duration,
    /// Origins allowed by CORS; `*` allows any; empty allows no cross-origin use.
    pub cors_origins: Vec<String>,
    /// Signup, login and refresh attempts allowed per minute per client address and route,
    /// and per refresh token (429 beyond; see [`crate::limits`]); 0 turns the limits off
    /// (e.g. for load tests).
    pub auth_rate_limit: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            auth_rate_limit: 30,
            cors_origins: Vec::new(),
        }
    }
}
