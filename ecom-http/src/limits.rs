//! Rate limits of the account routes, shaped so that nobody can turn them against someone
//! else's account:
//!
//! - **per client address and route** (signup, login, refresh; shops and customers apart):
//!   every attempt counts, [`HttpConfig::auth_rate_limit`](crate::HttpConfig::auth_rate_limit)
//!   per minute (a burst of that many, refilling evenly);
//! - **per email, for login only, counting only wrong passwords**: after [`FREE_FAILURES`]
//!   failures in a row, the next attempt for that email waits 1 s after the last failure, then
//!   2, 4, ... at most [`MAX_LOGIN_DELAY`]; a correct password ends the delay. So failures from
//!   other addresses delay a correct login by at most [`MAX_LOGIN_DELAY`], never lock it out,
//!   and a signup naming someone's email counts against no one but the caller's address;
//! - **per refresh token**, for refresh: the token's own budget (keyed by a hash of the token,
//!   not by the public account id it names), so junk refreshes naming a shop's id never touch
//!   the shop's genuine refresh.
//!
//! Over a limit: 429 with `Retry-After`. The client's address is the TCP peer's: behind a proxy
//! every client shares the proxy's address, so put the per-address limits in the proxy there
//! (or set the limit to 0 to turn these limits off). Every map is bounded: idle keys are
//! forgotten ([`AuthLimits::forget_idle`]), and at most [`MAX_TRACKED_EMAILS`] emails are
//! tracked at once.

use crate::error::AppError;
use ecom_core::account::AccountKind;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords in a row for one email before its logins are delayed.
pub const FREE_FAILURES: u32 = 5;

/// The longest a login for one email is delayed after failures.
pub const MAX_LOGIN_DELAY: Duration = Duration::from_secs(30);

/// Most emails whose failures are tracked at once (beyond it, new ones are not tracked until
/// idle ones are forgotten; the per-address limit still holds).
pub const MAX_TRACKED_EMAILS: usize = 100_000;

/// How long after its last failure an email is forgotten.
const FORGET_FAILURES_AFTER: Duration = Duration::from_secs(15 * 60);

/// An account route, for the per-address budgets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Route {
    /// `POST /{shop,user}/signup`.
    Signup(AccountKind),
    /// `POST /{shop,user}/login`.
    Login(AccountKind),
    /// `POST /{shop,user}/handlerRefreshToken`.
    Refresh(AccountKind),
}

/// Failed passwords in a row for one email.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt is allowed, if it is delayed.
    fn delayed_until(self) -> Option<Instant> {
        let over = self.count.checked_sub(FREE_FAILURES)?;
        let delay = Duration::from_secs(1u64 << over.min(10)).min(MAX_LOGIN_DELAY);
        Some(self.last + delay)
    }
}

/// The limits of the account routes (each off when the limit is 0).
#[derive(Debug)]
pub struct AuthLimits {
    addresses: Option<DefaultKeyedRateLimiter<(Route, IpAddr)>>,
    tokens: Option<DefaultKeyedRateLimiter<(AccountKind, u64)>>,
    failures: Option<Mutex<HashMap<(AccountKind, String), Failures>>>,
    /// Keys the hash of a refresh token (per process, random).
    token_hasher: std::collections::hash_map::RandomState,
}

impl AuthLimits {
    /// `per_minute` attempts per address and route, and per refresh token; 0 turns every limit
    /// off (the login delay too).
    pub fn new(per_minute: u32) -> Self {
        let quota = NonZeroU32::new(per_minute).map(Quota::per_minute);
        AuthLimits {
            addresses: quota.map(RateLimiter::keyed),
            tokens: quota.map(RateLimiter::keyed),
            failures: quota.map(|_| Mutex::default()),
            token_hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Counts one attempt at `route` from `addr`; [`AppError::TooMany`] if the address is over
    /// its budget for the route.
    pub fn attempt(&self, route: Route, addr: Option<IpAddr>) -> Result<(), AppError> {
        match (&self.addresses, addr) {
            (Some(limiter), Some(addr)) => check(limiter, &(route, addr)),
            _ => Ok(()),
        }
    }

    /// Whether a login for `email` may check its password now: [`AppError::TooMany`] while the
    /// email waits out the delay its failures earned.
    pub fn login_allowed(&self, kind: AccountKind, email: &str) -> Result<(), AppError> {
        self.login_allowed_at(kind, email, Instant::now())
    }

    fn login_allowed_at(
        &self,
        kind: AccountKind,
        email: &str,
        now: Instant,
    ) -> Result<(), AppError> {
        let Some(failures) = &self.failures else {
            return Ok(());
        };
        let key = (kind, normalized(email));
        let until = locked(failures).get(&key).and_then(|f| f.delayed_until());
        match until {
            Some(until) if until > now => Err(AppError::TooMany {
                retry_after: until - now,
            }),
            _ => Ok(()),
        }
    }

    /// A login for `email` failed its password check.
    pub fn login_failed(&self, kind: AccountKind, email: &str) {
        self.login_failed_at(kind, email, Instant::now());
    }

    fn login_failed_at(&self, kind: AccountKind, email: &str, now: Instant) {
        let Some(failures) = &self.failures else {
            return;
        };
        let mut map = locked(failures);
        let key = (kind, normalized(email));
        if map.len() >= MAX_TRACKED_EMAILS && !map.contains_key(&key) {
            return;
        }
        let entry = map.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    /// A login for `email` passed its password check: its failures are forgotten.
    pub fn login_succeeded(&self, kind: AccountKind, email: &str) {
        if let Some(failures) = &self.failures {
            locked(failures).remove(&(kind, normalized(email)));
        }
    }

    /// Counts one refresh with `token`; [`AppError::TooMany`] if that token is over its
    /// budget.
    pub fn refresh(&self, kind: AccountKind, token: &str) -> Result<(), AppError> {
        match &self.tokens {
            Some(limiter) => check(limiter, &(kind, self.token_hasher.hash_one(token))),
            None => Ok(()),
        }
    }

    /// Forgets keys whose limits have fully refilled and emails idle for a while (keeps memory
    /// bounded).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.addresses {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.tokens {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(failures) = &self.failures {
            let now = Instant::now();
            locked(failures).retain(|_, f| now.duration_since(f.last) < FORGET_FAILURES_AFTER);
        }
    }
}

/// Counts one attempt under `key`; [`AppError::TooMany`] if the key is over its budget.
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), AppError> {
    limiter
        .check_key(key)
        .map_err(|not_until| AppError::TooMany {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
}

fn normalized(email: &str) -> String {
    email.trim().to_lowercase()
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: AccountKind = AccountKind::Shop;
    const USER: AccountKind = AccountKind::Customer;

    fn addr(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn each_address_gets_its_quota_per_route_and_zero_turns_limits_off() {
        let limits = AuthLimits::new(3);
        for _ in 0..3 {
            limits.attempt(Route::Login(USER), addr(1)).unwrap();
        }
        let refused = limits.attempt(Route::Login(USER), addr(1)).unwrap_err();
        assert!(
            matches!(refused, AppError::TooMany { retry_after } if retry_after.as_secs() <= 20)
        );
        // Another route, another account kind, another address: budgets of their own.
        limits.attempt(Route::Signup(USER), addr(1)).unwrap();
        limits.attempt(Route::Login(SHOP), addr(1)).unwrap();
        limits.attempt(Route::Login(USER), addr(2)).unwrap();
        let off = AuthLimits::new(0);
        for _ in 0..100 {
            off.attempt(Route::Login(USER), addr(1)).unwrap();
            off.login_failed(USER, "ann@example.com");
            off.login_allowed(USER, "ann@example.com").unwrap();
            off.refresh(SHOP, "token").unwrap();
        }
    }

    /// Failures from many addresses delay a correct login for the victim's email by at most
    /// the documented maximum; they never lock it out, and a success ends the delay.
    #[test]
    fn failed_passwords_delay_an_email_by_at_most_the_maximum() {
        let limits = AuthLimits::new(30);
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            limits
                .login_allowed_at(USER, "ann@example.com", start)
                .unwrap();
            limits.login_failed_at(USER, "ann@example.com", start);
        }
        // The free failures are spent: the next attempt waits a second after the last.
        let refused = limits.login_allowed_at(USER, "ANN@example.com ", start);
        assert!(
            matches!(refused, Err(AppError::TooMany { retry_after }) if retry_after == Duration::from_secs(1))
        );
        limits
            .login_allowed_at(USER, "ann@example.com", start + Duration::from_secs(1))
            .unwrap();
        // However many failures pile up, the wait after the last one is at most the maximum.
        let mut now = start;
        for _ in 0..40 {
            now += Duration::from_secs(31);
            limits.login_failed_at(USER, "ann@example.com", now);
        }
        let refused = limits.login_allowed_at(USER, "ann@example.com", now);
        assert!(
            matches!(refused, Err(AppError::TooMany { retry_after }) if retry_after == MAX_LOGIN_DELAY)
        );
        limits
            .login_allowed_at(USER, "ann@example.com", now + MAX_LOGIN_DELAY)
            .unwrap();
        // Other emails, and the same email of the other account kind, are not delayed.
        limits
            .login_allowed_at(USER, "bob@example.com", now)
            .unwrap();
        limits
            .login_allowed_at(SHOP, "ann@example.com", now)
            .unwrap();
        limits.login_succeeded(USER, "ann@example.com");
        limits
            .login_allowed_at(USER, "ann@example.com", now)
            .unwrap();
    }

    /// Junk refreshes (whatever account id they name) spend their own tokens' budgets, never
    /// the genuine token's.
    #[test]
    fn refreshes_count_per_token() {
        let limits = AuthLimits::new(3);
        for i in 0..50 {
            let _ = limits.refresh(SHOP, &format!("junk-{i}"));
            let _ = limits.refresh(SHOP, "junk");
        }
        limits.refresh(SHOP, "the-genuine-refresh-token").unwrap();
        assert!(limits.refresh(SHOP, "junk").is_err());
    }

    #[test]
    fn tracked_emails_are_bounded() {
        let limits = AuthLimits::new(30);
        let now = Instant::now();
        for i in 0..(MAX_TRACKED_EMAILS + 10) {
            limits.login_failed_at(USER, &format!("{i}@example.com"), now);
        }
        let tracked = limits.failures.as_ref().map(|f| locked(f).len());
        assert_eq!(tracked, Some(MAX_TRACKED_EMAILS));
    }
}
