//! [`AppState`]: what every handler can reach.

use crate::http_config::HttpConfig;
use crate::limits::AuthLimits;
use crate::metrics::Metrics;
use ecom_core::Ecom;
use std::sync::Arc;

/// The services plus the HTTP settings; cheap to clone (handlers get a clone per request).
#[derive(Clone, Debug)]
pub struct AppState {
    /// ecom's services.
    pub ecom: Arc<Ecom>,
    /// Limits, timeout and CORS of the router.
    pub http: Arc<HttpConfig>,
    /// The Prometheus registry `/metrics` renders.
    pub metrics: Metrics,
    /// Rate limits of signup, login and refresh.
    pub limits: Arc<AuthLimits>,
}

impl AppState {
    /// State with default HTTP settings and a metrics registry of its own.
    pub fn new(ecom: Ecom) -> Self {
        Self::with_http(ecom, HttpConfig::default())
    }

    /// State with the given HTTP settings.
    pub fn with_http(ecom: Ecom, http: HttpConfig) -> Self {
        AppState {
            ecom: Arc::new(ecom),
            limits: Arc::new(AuthLimits::new(http.auth_rate_limit)),
            http: Arc::new(http),
            metrics: Metrics::new(),
        }
    }
}
