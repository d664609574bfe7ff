//! Money as integer minor units plus an ISO 4217 currency. No floats in arithmetic.
//!
//! Input arrives in major units (`19.99`), as a JSON string or number, and is parsed exactly:
//! a number is read through its shortest round-trip decimal form, so `19.99` is 1999 cents and
//! `19.999` (three decimals for USD) is rejected instead of rounded.
//! Percentages are basis points (1/100 of a percent, `10000` = 100%) and round half-up to the
//! minor unit (see [`Money::percent`]).

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The largest amount accepted from input, in major units (keeps every sum far inside `i64`).
pub const MAX_MAJOR_UNITS: i64 = 1_000_000_000_000;

/// An ISO 4217 currency known to ecom, with its number of minor-unit digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// US dollars, the default.
    pub const USD: Currency = Currency {
        code: "USD",
        exponent: 2,
    };

    /// Looks a currency up by its ISO 4217 code (case-insensitive), from the full table of the
    /// `iso_currency` crate. Codes without minor units of their own (precious metals, funds
    /// like XDR) are refused: prices need a fixed number of decimals.
    pub fn from_code(code: &str) -> Result<Self> {
        let upper = code.trim().to_ascii_uppercase();
        let unknown = || Error::validation("currency", format!("unknown currency {code:?}"));
        let iso = iso_currency::Currency::from_code(&upper).ok_or_else(unknown)?;
        let exponent = iso
            .exponent()
            .and_then(|e| u8::try_from(e).ok())
            .filter(|e| *e <= 4)
            .ok_or_else(unknown)?;
        Ok(Currency {
            code: iso.code(),
            exponent,
        })
    }

    /// The ISO code, e.g. `USD`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    fn scale(&self) -> i64 {
        10_i64.pow(u32::from(self.exponent))
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self::USD
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl TryFrom<String> for Currency {
    type Error = Error;
    fn try_from(code: String) -> Result<Self> {
        Self::from_code(&code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code.to_owned()
    }
}

/// An amount of money: minor units (cents) in a currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Money {
    /// Minor units, e.g. 1999 for 19.99 USD.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount of `minor` units.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses major units exactly (`"19.99"` -> 1999 for USD). More decimals than the
    /// currency has, exponents, or anything but `-?digits[.digits]` is a validation error on `field`.
    pub fn parse_major(input: &MajorUnits, currency: Currency, field: &str) -> Result<Self> {
        let minor = parse_decimal(&input.0, currency.exponent, field)?;
        Ok(Money::new(minor, currency))
    }

    /// `self` as input to a rule on `field`: in `currency`, and at most [`MAX_MAJOR_UNITS`]
    /// major units either way (what [`Money::parse_major`] accepts from text).
    pub fn checked_input(self, currency: Currency, field: &str) -> Result<Self> {
        if self.currency != currency {
            return Err(Error::validation(
                field,
                format!("must be in {currency}, not {}", self.currency),
            ));
        }
        let limit = i128::from(MAX_MAJOR_UNITS) * i128::from(currency.scale());
        if i128::from(self.minor).abs() > limit {
            return Err(Error::validation(field, "is too large"));
        }
        Ok(self)
    }

    /// The amount in major units as exact decimal text (`"19.99"`, `"1999"` for JPY).
    pub fn major_string(&self) -> String {
        let exp = usize::from(self.currency.exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = self.currency.scale().unsigned_abs();
        format!("{sign}{}.{:0exp$}", abs / scale, abs % scale)
    }

    /// The amount in major units as a JSON number (exact for every amount ecom accepts).
    pub fn major_json(&self) -> serde_json::Value {
        self.major_string()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)
    }

    /// `self + other`; a currency mismatch or overflow is an error.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or_else(overflow)
    }

    /// `self - other`; a currency mismatch or overflow is an error.
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or_else(overflow)
    }

    /// `self * quantity`; overflow is an error.
    pub fn checked_mul(self, quantity: u64) -> Result<Money> {
        i64::try_from(quantity)
            .ok()
            .and_then(|q| self.minor.checked_mul(q))
            .map(|minor| Money::new(minor, self.currency))
            .ok_or_else(overflow)
    }

    /// `basis_points / 10000` of `self`, rounded half-up (away from zero) to the minor unit.
    /// Example: 12.5% (1250 bp) of 0.99 USD is 12.375 cents, which rounds to 12 cents;
    /// 50% of 0.05 is 2.5 cents, which rounds to 3.
    pub fn percent(self, basis_points: u32) -> Money {
        let product = i128::from(self.minor) * i128::from(basis_points);
        let half = if product < 0 { -5_000 } else { 5_000 };
        let minor = (product + half) / 10_000;
        Money::new(i64::try_from(minor).unwrap_or(i64::MAX), self.currency)
    }

    /// `self` split over `weights` in proportion, to the minor unit, by the largest-remainder
    /// method: each part is first its exact share rounded down, and the minor units left go
    /// one each to the parts with the largest remainders (the earlier part on a tie). The
    /// parts add up to `self` exactly, and each is within one minor unit of its exact share; a
    /// zero weight gets nothing. `None` if an amount or weight is negative, or if the weights
    /// add up to zero while `self` does not.
    pub fn split(self, weights: &[i64]) -> Option<Vec<Money>> {
        let total = i128::from(self.minor);
        let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
        if total < 0 || weights.iter().any(|w| *w < 0) || (sum == 0 && total != 0) {
            return None;
        }
        if sum == 0 {
            return Some(weights.iter().map(|_| Money::zero(self.currency)).collect());
        }
        let exact: Vec<(i128, i128)> = weights
            .iter()
            .map(|w| {
                let scaled = total * i128::from(*w);
                (scaled / sum, scaled % sum)
            })
            .collect();
        let mut left = total - exact.iter().map(|(floor, _)| floor).sum::<i128>();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
        let mut parts: Vec<i128> = exact.iter().map(|(floor, _)| *floor).collect();
        for i in order {
            if left == 0 {
                break;
            }
            if exact[i].1 > 0 {
                parts[i] += 1;
                left -= 1;
            }
        }
        parts
            .into_iter()
            .map(|p| i64::try_from(p).ok().map(|m| Money::new(m, self.currency)))
            .collect()
    }

    /// The smaller of two amounts of one currency.
    pub fn min(self, other: Money) -> Money {
        if other.minor < self.minor {
            other
        } else {
            self
        }
    }

    fn same_currency(self, other: Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::validation(
                "currency",
                format!("cannot mix {} and {}", self.currency, other.currency),
            ))
        }
    }
}

/// Parses `-?digits[.digits]` with at most `exponent` decimals into an integer scaled by
/// `10^exponent` (`"19.99"`, 2 -> 1999). Anything else is a validation error on `field`.
fn parse_decimal(text: &str, exponent: u8, field: &str) -> Result<i64> {
    let text = text.trim();
    let malformed = || Error::validation(field, "must be a decimal number like 19.99");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((_, "")) => return Err(malformed()),
        Some(parts) => parts,
        None => (unsigned, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || !digits(int_part) || !digits(frac_part) {
        return Err(malformed());
    }
    let frac = frac_part.trim_end_matches('0');
    if frac.len() > usize::from(exponent) {
        return Err(Error::validation(
            field,
            format!("at most {exponent} decimals"),
        ));
    }
    let too_large = || Error::validation(field, "is too large");
    let int_digits = int_part.trim_start_matches('0');
    if int_digits.len() > 13 {
        return Err(too_large());
    }
    let major: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| too_large())?
    };
    if major > MAX_MAJOR_UNITS {
        return Err(too_large());
    }
    let mut scaled = major;
    for i in 0..usize::from(exponent) {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        scaled = scaled * 10 + d;
    }
    Ok(if negative { -scaled } else { scaled })
}

/// Parses a percentage given in the API (`10`, `12.5`, at most two decimals) into basis
/// points (`1250`). Must be greater than 0 and at most 100.
pub fn parse_percent(input: &MajorUnits, field: &str) -> Result<u32> {
    let bp = parse_decimal(&input.0, 2, field)?;
    if bp <= 0 || bp > 10_000 {
        return Err(Error::validation(
            field,
            "must be greater than 0 and at most 100",
        ));
    }
    u32::try_from(bp).map_err(|_| Error::validation(field, "is too large"))
}

fn overflow() -> Error {
    Error::validation("amount", "amount is too large")
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.major_string(), self.currency)
    }
}

/// An amount in major units as the client wrote it (JSON string or number), not yet parsed.
/// Turn it into [`Money`] with [`Money::parse_major`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(transparent)]
pub struct MajorUnits(pub String);

impl From<&str> for MajorUnits {
    fn from(s: &str) -> Self {
        MajorUnits(s.to_owned())
    }
}

impl<'de> Deserialize<'de> for MajorUnits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MajorUnits;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a number or string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<MajorUnits, E> {
                Ok(MajorUnits(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<MajorUnits, E> {
                Ok(MajorUnits(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<MajorUnits, E> {
                Ok(MajorUnits(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<MajorUnits, E> {
                if v.is_finite() {
                    // Rust prints the shortest text that reads back as `v`, never in exponent form.
                    Ok(MajorUnits(v.to_string()))
                } else {
                    Err(E::custom("amount must be finite"))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The parts of a split add up to the whole exactly, each within one minor unit of
        /// its exact share (never above its weight when the whole is at most their sum).
        #[test]
        fn a_split_adds_up_exactly(
            weights in proptest::collection::vec(0_i64..10_000_000, 1..12),
            fraction in 0.0_f64..=1.0,
        ) {
            let sum: i64 = weights.iter().sum();
            let total = (sum as f64 * fraction).floor() as i64;
            let whole = Money::new(total, Currency::USD);
            let Some(parts) = whole.split(&weights) else {
                prop_assert!(sum == 0 && total != 0);
                return Ok(());
            };
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().map(|p| p.minor).sum::<i64>(), total);
            for (part, weight) in parts.iter().zip(&weights) {
                let exact = i128::from(total) * i128::from(*weight);
                let scaled = i128::from(part.minor) * i128::from(sum.max(1));
                prop_assert!((scaled - exact).abs() < i128::from(sum.max(1)));
                prop_assert!(part.minor <= *weight);
                prop_assert!(*weight > 0 || part.minor == 0);
            }
        }
    }

    #[test]
    fn a_split_gives_leftover_units_to_the_largest_remainders() {
        let usd = |m| Money::new(m, Currency::USD);
        let minor = |parts: Option<Vec<Money>>| {
            parts.map(|p| p.into_iter().map(|m| m.minor).collect::<Vec<_>>())
        };
        // 100 over 1:1:1 is 33.3 each: one unit left, to the first on the tie.
        assert_eq!(minor(usd(100).split(&[1, 1, 1])), Some(vec![34, 33, 33]));
        // 10 over 1:2:3 is 1.67, 3.33, 5: the first remainder is the largest.
        assert_eq!(minor(usd(10).split(&[1, 2, 3])), Some(vec![2, 3, 5]));
        assert_eq!(minor(usd(0).split(&[0, 0])), Some(vec![0, 0]));
        assert_eq!(minor(usd(5).split(&[0, 0])), None);
        assert_eq!(minor(usd(-5).split(&[1])), None);
        assert_eq!(minor(usd(5).split(&[2, -1])), None);
    }

    fn usd(s: &str) -> Result<Money> {
        Money::parse_major(&MajorUnits::from(s), Currency::USD, "price")
    }

    #[test]
    fn every_iso_currency_with_minor_units_is_known() {
        let exponent = |code: &str| Currency::from_code(code).map(|c| (c.code(), c.exponent()));
        assert_eq!(exponent("usd").unwrap(), ("USD", 2));
        assert_eq!(exponent(" VND ").unwrap(), ("VND", 0));
        assert_eq!(exponent("BHD").unwrap(), ("BHD", 3));
        assert_eq!(exponent("KES").unwrap(), ("KES", 2));
        assert_eq!(exponent("UYW").unwrap(), ("UYW", 4));
        for refused in ["XAU", "XDR", "ABC", "", "US"] {
            assert!(Currency::from_code(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn parses_major_units_exactly() {
        assert_eq!(usd("19.99").map(|m| m.minor).ok(), Some(1999));
        assert_eq!(usd("19.9").map(|m| m.minor).ok(), Some(1990));
        assert_eq!(usd("20").map(|m| m.minor).ok(), Some(2000));
        assert_eq!(usd("0.10").map(|m| m.minor).ok(), Some(10));
        assert_eq!(usd("19.990").map(|m| m.minor).ok(), Some(1999));
        assert_eq!(usd("-1.5").map(|m| m.minor).ok(), Some(-150));
        for bad in [
            "19.999",
            "1e3",
            "",
            ".5",
            "5.",
            "abc",
            "1.2.3",
            "NaN",
            "99999999999999",
        ] {
            assert!(usd(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentages_are_basis_points() {
        let p = |s: &str| parse_percent(&MajorUnits::from(s), "value");
        assert_eq!(p("10").ok(), Some(1000));
        assert_eq!(p("12.5").ok(), Some(1250));
        assert_eq!(p("100").ok(), Some(10_000));
        for bad in ["0", "100.01", "-5", "12.345", "x"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_numbers_keep_their_decimals() {
        let m: MajorUnits = serde_json::from_str("19.99").unwrap_or(MajorUnits::from("x"));
        assert_eq!(m.0, "19.99");
        let m: MajorUnits = serde_json::from_str("0.1").unwrap_or(MajorUnits::from("x"));
        assert_eq!(usd(&m.0).map(|m| m.minor).ok(), Some(10));
        let m: MajorUnits = serde_json::from_str("19.999").unwrap_or(MajorUnits::from("x"));
        assert!(usd(&m.0).is_err());
    }

    #[test]
    fn formats_and_rounds() {
        assert_eq!(Money::new(1999, Currency::USD).major_string(), "19.99");
        assert_eq!(Money::new(5, Currency::USD).major_string(), "0.05");
        assert_eq!(Money::new(-5, Currency::USD).major_string(), "-0.05");
        let jpy = Currency::from_code("jpy").map(|c| Money::new(1999, c).major_string());
        assert_eq!(jpy.ok().as_deref(), Some("1999"));
        assert_eq!(Money::new(99, Currency::USD).percent(1250).minor, 12);
        assert_eq!(Money::new(5, Currency::USD).percent(5000).minor, 3);
        assert_eq!(
            Money::new(1999, Currency::USD).major_json(),
            serde_json::json!(19.99)
        );
    }
}
