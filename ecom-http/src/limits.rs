//! Rate limits on the account routes: signup, login and token refresh count against the
//! client's address and against the email (or account) they name, each key allowed
//! [`HttpConfig::auth_rate_limit`](crate::HttpConfig::auth_rate_limit) attempts per minute (a
//! burst of that many, refilling evenly). Over the limit: 429 with `Retry-After`. The client's
//! address is the TCP peer's: behind a proxy every client shares the proxy's address, so put the
//! limits in the proxy there (or set the limit to 0 to turn these off).

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// The limiter of the account routes (none when the limit is 0).
#[derive(Debug)]
pub struct AuthLimits {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl AuthLimits {
    /// `per_minute` attempts per key and minute; 0 turns the limits off.
    pub fn new(per_minute: u32) -> Self {
        AuthLimits {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Counts one attempt from `addr` naming `subject` (an email or an account id);
    /// [`AppError::TooMany`] if either is over its limit.
    pub fn check(&self, addr: Option<IpAddr>, subject: &str) -> Result<(), AppError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let mut keys = vec![format!("subject:{}", subject.trim().to_lowercase())];
        if let Some(addr) = addr {
            keys.push(format!("addr:{addr}"));
        }
        for key in &keys {
            if let Err(not_until) = limiter.check_key(key) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(AppError::TooMany { retry_after: wait });
            }
        }
        Ok(())
    }

    /// Forgets keys whose limits have fully refilled (keeps memory bounded).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_gets_its_quota_and_zero_turns_limits_off() {
        let limits = AuthLimits::new(3);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        let there = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..3 {
            limits.check(there, "ann@example.com").unwrap();
        }
        // The email is used up, from any address.
        let refused = limits.check(here, "ANN@example.com ").unwrap_err();
        assert!(
            matches!(refused, AppError::TooMany { retry_after } if retry_after.as_secs() <= 20)
        );
        // The address is used up too, for any email.
        assert!(limits.check(there, "bob@example.com").is_err());
        limits.check(here, "bob@example.com").unwrap();
        let off = AuthLimits::new(0);
        for _ in 0..100 {
            off.check(here, "ann@example.com").unwrap();
        }
    }
}
