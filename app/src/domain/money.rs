//! Prices: exact integer cents, never a float. On the wire a price is a string with two decimals
//! (`"2.20"`); input may also be a JSON number, read from its decimal text, not as a float. A
//! person reads a price the way their language writes it (`€2.20`, `2,20 €`): see
//! [`Money::display`].

use crate::t;
use serde::{Deserialize, Serialize};

use super::{Currency, FieldError};

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

    /// A decimal amount with at most two decimals after a point or a comma (`"2"`, `"2.2"`,
    /// `"2,20"`: French and German write the comma), not negative; no sign, exponent, grouping
    /// or spaces inside. With at most two decimals, `"1,000"` and `"1.000"` are refused, never
    /// read as a thousand.
    pub fn parse_decimal(text: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new(t!(fields.amount_format));
        let text = text.trim();
        let (whole, fraction) = text.split_once(['.', ',']).unwrap_or((text, ""));
        if whole.is_empty()
            || whole.len() > 12
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 2
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (text.contains(['.', ',']) && fraction.is_empty())
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

/// How a language writes numbers and prices: the `numbers` translation file of a language, so
/// a new language brings its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumberStyle {
    /// Between the units and the cents: `.` in English, `,` in French and German.
    pub decimal: &'static str,
    /// Between groups of three digits: `,` in English, a narrow no-break space in French.
    pub group: &'static str,
    /// Where the currency goes: `{{ symbol }}{{ amount }}` or `{{ amount }} {{ symbol }}`.
    pub price: &'static str,
}

impl NumberStyle {
    /// This page's language (or the API request's).
    pub fn of_page() -> Self {
        Self {
            decimal: t!(numbers.decimal_separator),
            group: t!(numbers.group_separator),
            price: t!(numbers.price),
        }
    }

    /// A given language (emails).
    #[cfg(feature = "ssr")]
    pub fn of(locale: crate::language::Locale) -> Self {
        use crate::t_in;
        Self {
            decimal: t_in!(locale, numbers.decimal_separator),
            group: t_in!(locale, numbers.group_separator),
            price: t_in!(locale, numbers.price),
        }
    }
}

impl Money {
    /// A price as this page's language writes it: `€1,234.56`, `1 234,56 €`, `1.234,56 €`.
    pub fn display(self, currency: Currency) -> String {
        self.display_as(currency, NumberStyle::of_page())
    }

    /// A price as a given language writes it (emails).
    #[cfg(feature = "ssr")]
    pub fn display_in(self, currency: Currency, locale: crate::language::Locale) -> String {
        self.display_as(currency, NumberStyle::of(locale))
    }

    /// A price in `style`: the digits grouped by threes, and a symbol made of letters (`CHF`)
    /// kept apart from the digits by a no-break space, as CLDR does in every language.
    pub fn display_as(self, currency: Currency, style: NumberStyle) -> String {
        const NO_BREAK_SPACE: &str = "\u{a0}";
        let symbol = currency.symbol();
        // The pattern's placeholders, spaces inside their braces aside.
        let pattern = style.price.replace("{{ ", "{{").replace(" }}", "}}");
        let letters = |c: Option<char>| c.is_some_and(char::is_alphabetic);
        let symbol_first = pattern.contains("{{symbol}}{{amount}}");
        let symbol_last = pattern.contains("{{amount}}{{symbol}}");
        let symbol = if symbol_first && letters(symbol.chars().next_back()) {
            format!("{symbol}{NO_BREAK_SPACE}")
        } else if symbol_last && letters(symbol.chars().next()) {
            format!("{NO_BREAK_SPACE}{symbol}")
        } else {
            symbol.to_string()
        };
        let amount = grouped(self.0.unsigned_abs(), style.decimal, style.group);
        let price = crate::language::fill(&pattern, &[("symbol", &symbol), ("amount", &amount)]);
        if self.0 < 0 {
            format!("-{price}")
        } else {
            price
        }
    }

    /// The amount alone as a person types it in this page's language (`12,50`), for a form to
    /// start from: no grouping or symbol, so [`Money::parse_decimal`] reads it back.
    pub fn input_text(self) -> String {
        self.input_text_as(NumberStyle::of_page())
    }

    /// The same in `style`.
    pub fn input_text_as(self, style: NumberStyle) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}{}{:02}", abs / 100, style.decimal, abs % 100)
    }
}

/// `123456` cents as `1,234.56` (with `.` and `,`): the units grouped by threes.
fn grouped(cents: u64, decimal: &str, group: &str) -> String {
    let units = (cents / 100).to_string();
    let mut out = String::with_capacity(units.len() * 2 + 4);
    for (index, digit) in units.chars().enumerate() {
        if index > 0 && (units.len() - index).is_multiple_of(3) {
            out.push_str(group);
        }
        out.push(digit);
    }
    out.push_str(decimal);
    let fraction = cents % 100;
    out.push(char::from(b'0' + (fraction / 10) as u8));
    out.push(char::from(b'0' + (fraction % 10) as u8));
    out
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
    use crate::language::Locale;

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
    fn a_comma_is_a_decimal_point_too() {
        for (text, cents) in [("12,50", 1250), ("12,5", 1250), (" 0,01 ", 1), ("7", 700)] {
            assert_eq!(Money::parse_decimal(text), Ok(Money(cents)), "{text}");
            assert_eq!(Money::parse_price(&json!(text)), Ok(Money(cents)), "{text}");
        }
        assert_eq!(Money::parse_decimal("12.50"), Ok(Money(1250)));
        // Grouping is never read as a decimal point, nor the other way round.
        for text in [
            "1,000", "1.000", "1,234.56", "1.234,56", "12,", ",5", "12,5,0", "12.5,0", "1 234,56",
        ] {
            assert!(Money::parse_decimal(text).is_err(), "{text}");
        }
    }

    #[test]
    fn prices_are_written_the_way_each_language_writes_them() {
        let euros = |cents, locale| Money(cents).display_in(Currency::EUR, locale);
        for (cents, en, fr, de) in [
            (1800, "€18.00", "18,00\u{a0}€", "18,00\u{a0}€"),
            (
                123_456,
                "€1,234.56",
                "1\u{202f}234,56\u{a0}€",
                "1.234,56\u{a0}€",
            ),
            (5, "€0.05", "0,05\u{a0}€", "0,05\u{a0}€"),
            (99_999, "€999.99", "999,99\u{a0}€", "999,99\u{a0}€"),
            (
                MAX_PRICE_CENTS,
                "€1,000,000.00",
                "1\u{202f}000\u{202f}000,00\u{a0}€",
                "1.000.000,00\u{a0}€",
            ),
            (-1800, "-€18.00", "-18,00\u{a0}€", "-18,00\u{a0}€"),
        ] {
            assert_eq!(euros(cents, Locale::En), en);
            assert_eq!(euros(cents, Locale::Fr), fr);
            assert_eq!(euros(cents, Locale::De), de);
        }
    }

    #[test]
    fn every_currency_has_its_symbol_and_codes_keep_apart_from_the_digits() {
        let price =
            |code, locale| Money(1800).display_in(Currency::parse(code).expect("a code"), locale);
        assert_eq!(price("USD", Locale::En), "$18.00");
        assert_eq!(price("GBP", Locale::En), "£18.00");
        assert_eq!(price("JPY", Locale::En), "¥18.00");
        assert_eq!(price("GBP", Locale::Fr), "18,00\u{a0}£");
        assert_eq!(price("CHF", Locale::En), "CHF\u{a0}18.00");
        assert_eq!(price("CHF", Locale::Fr), "18,00\u{a0}CHF");
        assert_eq!(price("CHF", Locale::De), "18,00\u{a0}CHF");
        assert_eq!(price("SEK", Locale::En), "SEK\u{a0}18.00");
    }

    #[test]
    fn a_new_language_needs_only_its_texts() {
        let swiss = NumberStyle {
            decimal: ".",
            group: "’",
            price: "{{ symbol }} {{ amount }}",
        };
        assert_eq!(
            Money(123_456).display_as(Currency::parse("CHF").expect("a code"), swiss),
            "CHF 1’234.56"
        );
        let glued = NumberStyle {
            price: "{{amount}}{{symbol}}",
            ..swiss
        };
        assert_eq!(Money(1800).display_as(Currency::EUR, glued), "18.00€");
    }

    #[test]
    fn a_form_shows_the_amount_as_its_language_types_it() {
        for (locale, text) in [
            (Locale::En, "1234.50"),
            (Locale::Fr, "1234,50"),
            (Locale::De, "1234,50"),
        ] {
            let typed = Money(123_450).input_text_as(NumberStyle::of(locale));
            assert_eq!(typed, text);
            assert_eq!(Money::parse_decimal(&typed), Ok(Money(123_450)));
        }
        assert_eq!(Money(5).input_text_as(NumberStyle::of(Locale::Fr)), "0,05");
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
