//! The store's currency: one for every price (`STORE_CURRENCY`), named on the wire by its ISO
//! 4217 code (`"EUR"`) beside each price, and shown with its symbol.

use serde::{Deserialize, Serialize};

/// An ISO 4217 code: three upper-case letters (`EUR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Self = Self(*b"EUR");

    /// Three upper-case ASCII letters. Whether ISO 4217 assigns them is not checked: a code
    /// this product has no symbol for is shown as itself.
    pub fn parse(code: &str) -> Option<Self> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Some(Self([a, b, c])),
            _ => None,
        }
    }

    /// `"EUR"`.
    pub fn code(&self) -> &str {
        // Three ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// What a price shows: the sign people know (`€`, `$`, `£`, `¥`), or the code (`CHF`).
    /// The same in every language: only where it goes and the digits around it differ (the
    /// `numbers` translation files).
    pub fn symbol(&self) -> &str {
        match &self.0 {
            b"EUR" => "€",
            b"USD" => "$",
            b"GBP" => "£",
            b"JPY" => "¥",
            _ => self.code(),
        }
    }
}

impl Default for Currency {
    /// The default of `STORE_CURRENCY`.
    fn default() -> Self {
        Self::EUR
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code)
            .ok_or_else(|| serde::de::Error::custom("expected a currency code like \"EUR\""))
    }
}

#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some(
                "The store's currency, as ISO 4217 names it (the server's STORE_CURRENCY): the \
                 same for every price.",
            ))
            .examples([serde_json::json!("EUR")])
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Currency {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_code_is_three_upper_case_letters() {
        for code in ["EUR", "USD", "CHF", "XTS"] {
            assert_eq!(
                Currency::parse(code).map(|c| c.to_string()),
                Some(code.into())
            );
        }
        for bad in [
            "", "EU", "EURO", "eur", "Eur", "E1R", "€", "€UR", " EUR", "ÉUR",
        ] {
            assert_eq!(Currency::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn known_currencies_have_their_sign_and_the_others_their_code() {
        let symbol = |code| Currency::parse(code).expect("a code").symbol().to_string();
        assert_eq!(symbol("EUR"), "€");
        assert_eq!(symbol("USD"), "$");
        assert_eq!(symbol("GBP"), "£");
        assert_eq!(symbol("JPY"), "¥");
        assert_eq!(symbol("CHF"), "CHF");
        assert_eq!(symbol("SEK"), "SEK");
    }

    #[test]
    fn the_wire_carries_the_code() {
        assert_eq!(
            serde_json::to_value(Currency::EUR).expect("serialises"),
            json!("EUR")
        );
        let back: Currency = serde_json::from_value(json!("GBP")).expect("deserialises");
        assert_eq!(back.code(), "GBP");
        assert!(serde_json::from_value::<Currency>(json!("pounds")).is_err());
        assert_eq!(Currency::default(), Currency::EUR);
    }
}
