//! The HTTP client of webhooks ([`HttpTransport`], ecom-core's `WebhookTransport`): POSTs a
//! delivery's event as its endpoint's owner sees it ([`EventDto::view`]), signed as the
//! Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), with a 10 s timeout, no redirects followed and at most 64 KiB of the
//! answer read. Unless private addresses are allowed, it never connects to one: a name is
//! resolved by a resolver that drops forbidden addresses (a DNS answer may change after the
//! endpoint was registered), and a literal address is checked before sending.

use crate::dto::event::{Audience, EventDto};
use async_trait::async_trait;
use ecom_core::clock::Timestamp;
use ecom_core::event::Logged;
use ecom_core::webhook::{
    is_forbidden_ip, signatures, AttemptOutcome, Delivery, Endpoint, EndpointOwner,
    WebhookTransport,
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one attempt may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Most bytes of a receiver's answer read.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Sends webhook deliveries over HTTP(S). Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpTransport {
    client: reqwest::Client,
    allow_private: bool,
}

/// Resolves names, dropping the addresses webhooks may not reach.
#[derive(Debug)]
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| !is_forbidden_ip(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{} resolves only to private or internal addresses",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl HttpTransport {
    /// A client; `allow_private` lets it reach private, loopback and internal addresses
    /// (`ECOM_WEBHOOK_ALLOW_PRIVATE`, for tests and closed networks).
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ecom-webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(HttpTransport {
            client: builder.build()?,
            allow_private,
        })
    }

    /// The body of `delivery`: the event in its owner's view, or a ping.
    fn body(
        endpoint: &Endpoint,
        delivery: &Delivery,
        event: Option<&Logged>,
        now: Timestamp,
    ) -> Result<Vec<u8>, String> {
        let value = match event {
            Some(logged) => {
                let audience = match &endpoint.owner {
                    EndpointOwner::Shop(shop) => Audience::Shop(shop.clone()),
                    EndpointOwner::Platform => Audience::Operator,
                };
                let dto = EventDto::view(logged, &audience).map_err(|e| e.to_string())?;
                serde_json::to_value(dto).map_err(|e| e.to_string())?
            }
            None => serde_json::json!({
                "id": delivery.event_id.to_string(),
                "type": "ping",
                "occurred_at": now,
                "endpoint_id": endpoint.id.to_string(),
            }),
        };
        serde_json::to_vec(&value).map_err(|e| e.to_string())
    }

    /// Sends `body` to `endpoint`, signed; the status, or what went wrong.
    async fn post(
        &self,
        endpoint: &Endpoint,
        msg_id: &str,
        body: Vec<u8>,
        now: Timestamp,
    ) -> Result<u16, String> {
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| format!("bad URL: {e}"))?;
        if !self.allow_private {
            let literal = url
                .host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|h| h.parse::<IpAddr>().ok());
            if literal.is_some_and(is_forbidden_ip) {
                return Err("refused: a private or internal address".to_owned());
            }
        }
        let timestamp = now.timestamp();
        let signature = signatures(endpoint, now, msg_id, timestamp, &body);
        let mut answer = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = answer.status().as_u16();
        let mut read = 0;
        while read < MAX_ANSWER {
            match answer.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(status)
    }
}

/// A short description of a failed request (its kind and cause).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[async_trait]
impl WebhookTransport for HttpTransport {
    async fn deliver(
        &self,
        endpoint: &Endpoint,
        delivery: &Delivery,
        event: Option<&Logged>,
        now: Timestamp,
    ) -> AttemptOutcome {
        let started = Instant::now();
        let sent = match Self::body(endpoint, delivery, event, now) {
            Ok(body) => {
                self.post(endpoint, &delivery.event_id.to_string(), body, now)
                    .await
            }
            Err(e) => Err(format!("the event could not be shown: {e}")),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match sent {
            Ok(status) if (200..300).contains(&status) => AttemptOutcome {
                status: Some(status),
                duration_ms,
                error: None,
            },
            Ok(status) => AttemptOutcome {
                status: Some(status),
                duration_ms,
                error: Some(format!("the receiver answered {status}")),
            },
            Err(error) => AttemptOutcome {
                status: None,
                duration_ms,
                error: Some(error),
            },
        }
    }
}
