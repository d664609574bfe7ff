//! Signup, login and refresh are rate limited per client address and route, refreshes per
//! refresh token, and logins for an email delayed after wrong passwords: over a limit, 429 in
//! the error envelope with `Retry-After`, and nothing is done. (That no one can spend these
//! budgets against someone else's account is in `holes`.)

use crate::support::{self, signup, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn account_routes_are_rate_limited_per_address_and_route() {
    let mut config = support::config();
    config.http.auth_rate_limit = 4;
    let server = TestServer::start(config).await;
    // One signup: the signup route's budget of 127.0.0.1, not the login route's.
    let ann = signup(&server, "user", "ann@limits.example").await;
    let right = json!({"email": "ann@limits.example", "password": "correct horse battery"});
    for _ in 0..4 {
        server
            .api(Method::POST, "/user/login", &[], Some(right.clone()))
            .await
            .ok(200);
    }
    // The address's fifth login: 429 with a short Retry-After, whatever the email.
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
    // Signups have a budget of their own (one spent): three more, then 429, and a refused
    // signup creates no account.
    for i in 0..3 {
        let body = json!({"name": "Bob", "email": format!("bob{i}@limits.example"),
                          "password": "correct horse battery"});
        server
            .api(Method::POST, "/user/signup", &[], Some(body))
            .await
            .ok(201);
    }
    let late =
        json!({"name": "Bob", "email": "late@limits.example", "password": "correct horse battery"});
    server
        .api(Method::POST, "/user/signup", &[], Some(late.clone()))
        .await
        .err(429, "too many attempts");
    // Shops are another route: the shop routes of the same address are untouched.
    signup(&server, "shop", "shop@limits.example").await;
    // Refreshes: per address and route, and per token.
    let refresh = |token: String| {
        let (server, id) = (server.api.clone(), ann.id.clone());
        async move {
            server
                .api(
                    Method::POST,
                    "/user/handlerRefreshToken",
                    &[("x-client-id", &id), ("x-rtoken-id", &token)],
                    None,
                )
                .await
        }
    };
    let mut token = ann.refresh.clone();
    for _ in 0..4 {
        let answer = refresh(token.clone()).await;
        token = answer.ok(200)["tokens"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    refresh(token).await.err(429, "too many attempts");
    server.stop().await;

    // With the limits off, nothing is refused, and wrong passwords delay nothing.
    let server = TestServer::start(support::config()).await;
    signup(&server, "user", "ann@limits.example").await;
    let wrong = json!({"email": "ann@limits.example", "password": "not the password"});
    for _ in 0..10 {
        server
            .api(Method::POST, "/user/login", &[], Some(wrong.clone()))
            .await
            .err(401, "invalid email or password");
    }
    server
        .api(Method::POST, "/user/login", &[], Some(right))
        .await
        .ok(200);
    let late = server
        .api(Method::POST, "/user/signup", &[], Some(late))
        .await;
    late.ok(201);
    server.stop().await;
}
