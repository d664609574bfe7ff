//! Signup, login and refresh are rate limited per client address and per email (or account):
//! over the limit, 429 in the error envelope with `Retry-After`, and nothing is done.

use crate::support::{self, signup, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn account_routes_are_rate_limited_per_email_and_per_address() {
    let mut config = support::config();
    config.http.auth_rate_limit = 4;
    let server = TestServer::start(config).await;
    // One signup (counts once for the email and once for the address).
    let ann = signup(&server, "user", "ann@limits.example").await;
    let wrong = json!({"email": "ann@limits.example", "password": "not the password"});
    for _ in 0..3 {
        server
            .api(Method::POST, "/user/login", &[], Some(wrong.clone()))
            .await
            .err(401, "invalid email or password");
    }
    // The email's fifth attempt: 429, and the right password does not get in either.
    let right = json!({"email": "ann@limits.example", "password": "correct horse battery"});
    let refused = server
        .api(Method::POST, "/user/login", &[], Some(right.clone()))
        .await;
    refused.err(429, "too many attempts");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15).contains(&retry), "retry after {retry} s");
    // The address is spent too (4 attempts from 127.0.0.1): another email is refused, and a
    // refused signup creates no account.
    let bob =
        json!({"name": "Bob", "email": "bob@limits.example", "password": "correct horse battery"});
    server
        .api(Method::POST, "/user/signup", &[], Some(bob))
        .await
        .err(429, "too many attempts");
    // Refresh counts against the address as well.
    server
        .api(
            Method::POST,
            "/user/handlerRefreshToken",
            &[("x-client-id", &ann.id), ("x-rtoken-id", &ann.refresh)],
            None,
        )
        .await
        .err(429, "too many attempts");
    server.stop().await;

    // With the limits off, nothing is refused.
    let server = TestServer::start(support::config()).await;
    signup(&server, "user", "ann@limits.example").await;
    for _ in 0..10 {
        server
            .api(Method::POST, "/user/login", &[], Some(right.clone()))
            .await
            .ok(200);
    }
    let bob = json!({"email": "bob@limits.example", "password": "correct horse battery"});
    server
        .api(Method::POST, "/user/login", &[], Some(bob))
        .await
        .err(401, "invalid email or password");
    server.stop().await;
}
