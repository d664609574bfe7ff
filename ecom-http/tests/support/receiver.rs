//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every delivery
//! (path, Standard Webhooks headers, body) and answers as the test says, and the receiver's
//! side of the signature check.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// One delivery as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signatures: String,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether one of its signatures is `secret`'s.
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signatures.split(' ').any(|s| s == expected)
    }
}

/// How the receiver answers the `n`-th delivery (from 0) to `path`.
pub type Answers = Box<dyn Fn(usize, &str) -> u16 + Send + Sync>;

struct Inner {
    got: Mutex<Vec<Received>>,
    answers: Mutex<Answers>,
}

/// A running receiver. Dropping it stops it.
pub struct Receiver {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    inner: Arc<Inner>,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

async fn take(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let path = uri.path().to_owned();
    let mut got = inner.got.lock().unwrap();
    let n = got.iter().filter(|r| r.path == path).count();
    let answered = (inner.answers.lock().unwrap())(n, &path);
    got.push(Received {
        path,
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signatures: header("webhook-signature"),
        body: body.to_vec(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Self {
        Self::answering(Box::new(|_, _| 200)).await
    }

    /// A receiver answering as `answers` says.
    pub async fn answering(answers: Answers) -> Self {
        let inner = Arc::new(Inner {
            got: Mutex::new(Vec::new()),
            answers: Mutex::new(answers),
        });
        let app = axum::Router::new().fallback(take).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            base,
            inner,
            handle,
        }
    }

    /// Changes how it answers from now on.
    pub fn answer(&self, answers: Answers) {
        *self.inner.answers.lock().unwrap() = answers;
    }

    /// Everything received at `path` so far, in arrival order.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.inner
            .got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The deliveries at `path` it answered 2xx, each `webhook-id` once (the first).
    pub fn accepted(&self, path: &str) -> Vec<Received> {
        let mut seen = HashSet::new();
        self.at(path)
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered) && seen.insert(r.id.clone()))
            .collect()
    }

    /// Waits (up to `secs` seconds) until `done` holds of what `path` accepted; that.
    pub async fn wait(
        &self,
        path: &str,
        secs: u64,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let accepted = self.accepted(path);
            if done(&accepted) {
                return accepted;
            }
            assert!(
                std::time::Instant::now() < until,
                "{path} got {:?}",
                accepted
                    .iter()
                    .map(|r| r.json()["type"].clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
