//! How timestamps are stored: fixed-width RFC 3339 text in UTC with nanoseconds,
//! `2025-01-31T09:30:00.123456789Z`.
//!
//! BSON dates keep only milliseconds, so a timestamp stored as a date would not read back equal
//! to what was written. Fixed-width text keeps every digit, stays readable in a shell, and sorts
//! (and range-compares) in time order as a plain string, so indexes on these fields work for
//! sorting. Years outside 0000..=9999 cannot be stored.

use crate::error::StoreError;
use bson::Bson;
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use ecom_core::clock::Timestamp;
use serde::{de, ser, Deserialize, Deserializer, Serializer};

/// The stored text of `ts`.
pub(crate) fn encode(ts: &Timestamp) -> Result<String, StoreError> {
    if !(0..=9999).contains(&ts.year()) {
        return Err(StoreError::Malformed(format!(
            "timestamp {ts} is outside the years 0000..=9999"
        )));
    }
    Ok(ts.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

/// `ts` as a BSON value, for filters and `$set`.
pub(crate) fn to_bson(ts: &Timestamp) -> Result<Bson, StoreError> {
    encode(ts).map(Bson::String)
}

fn decode(text: &str) -> Result<Timestamp, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Malformed(format!("timestamp {text:?}: {e}")))
}

/// `#[serde(with = "timestamp")]` serializer.
pub(crate) fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encode(ts).map_err(ser::Error::custom)?)
}

/// `#[serde(with = "timestamp")]` deserializer.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(d)?;
    decode(&text).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_nanoseconds_and_sorts_as_text() {
        let a = Utc.timestamp_opt(1_700_000_000, 5).single().unwrap();
        let b = Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .unwrap();
        let c = Utc.timestamp_opt(1_700_000_001, 0).single().unwrap();
        let (ea, eb, ec) = (
            encode(&a).unwrap(),
            encode(&b).unwrap(),
            encode(&c).unwrap(),
        );
        assert_eq!(ea, "2023-11-14T22:13:20.000000005Z");
        assert!(ea < eb && eb < ec);
        assert_eq!(decode(&eb).unwrap(), b);
        let far = Utc
            .with_ymd_and_hms(10_000, 1, 1, 0, 0, 0)
            .single()
            .unwrap();
        assert!(encode(&far).is_err());
    }
}
