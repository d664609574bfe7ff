//! How deliveries are signed, as the Standard Webhooks specification says: an HMAC-SHA256,
//! keyed by the secret's bytes, of `{id}.{timestamp}.{body}`, sent as `v1,<base64>`; several
//! signatures (one per live secret) are separated by spaces.

use super::endpoint::Endpoint;
use crate::clock::Timestamp;
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
    fn new_secrets_are_prefixed_random_and_decode_to_32_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let bytes = STANDARD.decode(a.trim_start_matches(PREFIX)).unwrap();
        assert_eq!(bytes.len(), 32);
    }
}
