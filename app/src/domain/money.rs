//! Prices: exact integer cents, never a float. On the wire a price is a string with two decimals
//! (`"2.20"`); input may also be a JSON number, read from its decimal text, not as a float.

use crate::t;
use serde::{Deserialize, Serialize};

use super::FieldError;

/// The dearest price the catalogue accepts: 1,000,000.00.
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// An amount of money in cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Self = Self(0);

    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// `self × quantity`; `None` on overflow (far beyond any real order).
    pub fn times(self, quantity: i64) -> Option<Self> {
        self.0.checked_mul(quantity).map(Self)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// A decimal amount with at most two decimals (`"2"`, `"2.2"`, `"2.20"`), not negative; no
    /// sign, exponent, grouping or spaces inside.
    pub fn parse_decimal(text: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new(t!(fields.amount_format));
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || whole.len() > 12
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 2
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let cents = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| bad())? * 10,
            _ => fraction.parse::<i64>().map_err(|_| bad())?,
        };
        whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents))
            .map(Self)
            .ok_or_else(bad)
    }

    /// A price as a client sends it: a string or a JSON number, more than 0 and at most
    /// 1,000,000.00.
    pub fn parse_price(value: &serde_json::Value) -> Result<Self, FieldError> {
        let amount = Self::parse_amount(value)?;
        if amount.0 <= 0 {
            return Err(FieldError::new(t!(fields.price_positive)));
        }
        if amount.0 > MAX_PRICE_CENTS {
            return Err(FieldError::new(t!(fields.price_too_high)));
        }
        Ok(amount)
    }

    /// An amount as a client sends it (a string or a JSON number), not negative.
    pub fn parse_amount(value: &serde_json::Value) -> Result<Self, FieldError> {
        match value {
            serde_json::Value::String(text) => Self::parse_decimal(text),
            // serde_json prints a number as the shortest text that reads back as the same
            // value: `2.2` stays `2.2`, so no float rounding reaches the amount.
            serde_json::Value::Number(number) => {
                let text = number.to_string();
                let text = text.strip_suffix(".0").unwrap_or(&text);
                Self::parse_decimal(text)
            }
            _ => Err(FieldError::new(t!(fields.amount_example))),
        }
    }
}

impl std::fmt::Display for Money {
    /// `2.20`; `-0.05` for a negative amount.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Self::parse_amount(&value).map_err(serde::de::Error::custom)
    }
}

/// In the API document: the string the server writes (input may also be a number).
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^\d{1,7}\.\d{2}$"))
            .description(Some("An amount with two decimals, in the shop's currency."))
            .examples([serde_json::json!("2.20")])
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Money {}

#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Postgres> for Money {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <i64 as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

#[cfg(feature = "ssr")]
impl sqlx::Encode<'_, sqlx::Postgres> for Money {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.0, buf)
    }
}

#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Money {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(<i64 as sqlx::Decode<sqlx::Postgres>>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_same_price_in_every_spelling() {
        for input in [json!("2.2"), json!(2.2), json!("2.20"), json!(" 2.20 ")] {
            assert_eq!(Money::parse_price(&input), Ok(Money(220)), "{input}");
        }
        assert_eq!(Money::parse_price(&json!(3)), Ok(Money(300)));
        assert_eq!(Money::parse_price(&json!("0.01")), Ok(Money(1)));
        assert_eq!(
            Money::parse_price(&json!(1_000_000)),
            Ok(Money(MAX_PRICE_CENTS))
        );
        assert_eq!(
            Money::parse_price(&json!("1000000.00")),
            Ok(Money(MAX_PRICE_CENTS))
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for input in [
            json!("2.205"),
            json!(2.205),
            json!(0),
            json!("0.00"),
            json!(-1),
            json!("-1"),
            json!("1000000.01"),
            json!(1e300),
            json!("1e2"),
            json!("2."),
            json!(".5"),
            json!("1,000"),
            json!("2 .20"),
            json!("NaN"),
            json!(""),
            json!(null),
            json!(true),
            json!([1]),
            json!("99999999999999999999"),
        ] {
            assert!(Money::parse_price(&input).is_err(), "{input}");
        }
    }

    #[test]
    fn prints_two_decimals() {
        assert_eq!(Money(220).to_string(), "2.20");
        assert_eq!(Money(5).to_string(), "0.05");
        assert_eq!(Money(100_000_000).to_string(), "1000000.00");
        assert_eq!(Money(-5).to_string(), "-0.05");
        assert_eq!(
            serde_json::to_value(Money(1999)).expect("serialises"),
            json!("19.99")
        );
        let back: Money = serde_json::from_value(json!("19.99")).expect("deserialises");
        assert_eq!(back, Money(1999));
    }
}
