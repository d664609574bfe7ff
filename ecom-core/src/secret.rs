//! Secret bytes that never show in `Debug` output or logs.

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Secret key material (HMAC keys, session secrets). `Debug` prints `Secret(***)`;
/// serde uses lowercase hex so adapters can store it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps existing key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// 32 random bytes from the operating system's generator.
    pub fn random() -> Self {
        let mut bytes = vec![0_u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text)
            .map(Secret)
            .map_err(serde::de::Error::custom)
    }
}

/// A clear-text password on its way to being hashed or checked: `Debug` prints
/// `Password(***)`, so request types that hold one can be logged. Deserializes from a string.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// The clear text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The clear text, moved out.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Password(text)
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Password(text.to_owned())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets_and_passwords() {
        let shown = format!(
            "{:?} {:?}",
            Secret::new(b"key-bytes".to_vec()),
            Password::from("correct horse battery")
        );
        assert_eq!(shown, "Secret(***) Password(***)");
    }
}
