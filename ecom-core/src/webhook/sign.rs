//! How deliveries are signed, as the Standard Webhooks specification says: an HMAC-SHA256,
//! keyed by the secret's bytes, of `{id}.{timestamp}.{body}`, sent as `v1,<base64>`; several
//! signatures (one per live secret) are separated by spaces.

use super::endpoint::Endpoint;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a secret.
const PREFIX: &str = "whsec_";

/// Random bytes of a new secret.
const SECRET_BYTES: usize = 32;

/// A new random secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// Fewest and most bytes a secret given by the operator may decode to (the Standard Webhooks
/// specification's range).
const GIVEN_SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Checks a secret the operator chose (e.g. in the server's configuration): `whsec_` and the
/// base64 of 24 to 64 bytes, as [`new_secret`] makes them.
pub fn check_secret(secret: &str) -> Result<()> {
    let bytes = secret
        .strip_prefix(PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok());
    match bytes {
        Some(bytes) if GIVEN_SECRET_BYTES.contains(&bytes.len()) => Ok(()),
        _ => Err(Error::validation(
            "secret",
            "must be whsec_ and the base64 of 24 to 64 random bytes \
             (e.g. `echo whsec_$(openssl rand -base64 32)`)",
        )),
    }
}

/// The signature of `body` sent as message `msg_id` at `timestamp` (Unix seconds) under
/// `secret` (`whsec_<base64>`; without the prefix, or not base64, its text is the key):
/// `v1,<base64 of HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let encoded = secret.strip_prefix(PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = match Hmac::<Sha256>::new_from_slice(&key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header of a delivery to `endpoint` at `now`: the signature under
/// each secret live at `now` (the new one and, for a day after a rotation, the old), newest
/// first, separated by spaces.
pub fn signatures(
    endpoint: &Endpoint,
    now: Timestamp,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut live: Vec<_> = endpoint.live_secrets(now).collect();
    live.reverse();
    live.iter()
        .map(|s| sign(&s.value, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks libraries.
    #[test]
    fn signs_the_standard_webhooks_vector() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn given_secrets_must_be_prefixed_base64_of_24_to_64_bytes() {
        assert!(check_secret(&new_secret()).is_ok());
        assert!(check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        for bad in [
            "",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_short",
            "whsec_not base64 at all, not at all!!",
            &format!("whsec_{}", STANDARD.encode([7u8; 65])),
        ] {
            assert!(check_secret(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_secrets_are_prefixed_random_and_decode_to_32_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let bytes = STANDARD.decode(a.trim_start_matches(PREFIX)).unwrap();
        assert_eq!(bytes.len(), 32);
    }
}
