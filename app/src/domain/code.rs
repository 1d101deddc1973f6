use crate::t;
use std::ops::RangeInclusive;

use super::FieldError;

/// Code lengths the product supports (`ACTIVATION_CODE_LENGTH`).
pub const CODE_LENGTH_RANGE: RangeInclusive<usize> = 4..=10;

/// A one-time code as typed or pasted: ASCII digits only (leading zeros are digits too), spaces
/// and dashes ignored so `04 27` and `04-27` work.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// `length` is the configured code length on the server; the browser, which does not know
    /// it, passes `None` and gets the shape check only.
    pub fn parse(raw: &str, length: Option<usize>) -> Result<Self, FieldError> {
        if raw.len() > 64 {
            return Err(FieldError::new(t!(fields.code_required)));
        }
        let code: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if code.is_empty() {
            return Err(FieldError::new(t!(fields.code_required)));
        }
        if !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(t!(fields.code_digits_only)));
        }
        let fits = match length {
            Some(n) => code.len() == n,
            None => CODE_LENGTH_RANGE.contains(&code.len()),
        };
        if !fits {
            let expected = length.map_or("4".to_string(), |n| n.to_string());
            return Err(FieldError::new(t!(fields.code_length, digits = expected)));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A code is a credential: never printed.
impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keeps_leading_zeros_and_ignores_spacing() {
        let code = VerificationCode::parse(" 04-27 ", Some(4)).expect("valid");
        assert_eq!(code.as_str(), "0427");
    }

    #[test]
    fn refuses_wrong_length_and_non_digits() {
        assert!(VerificationCode::parse("042", Some(4)).is_err());
        assert!(VerificationCode::parse("04271", Some(4)).is_err());
        assert!(VerificationCode::parse("04a7", Some(4)).is_err());
        assert!(VerificationCode::parse("٠٤٢٧", Some(4)).is_err());
        assert!(VerificationCode::parse("", None).is_err());
        assert!(VerificationCode::parse("123456", None).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_codes_are_digits_of_the_length(raw in "\\PC{0,20}", n in 4usize..=10) {
            if let Ok(code) = VerificationCode::parse(&raw, Some(n)) {
                prop_assert_eq!(code.as_str().len(), n);
                prop_assert!(code.as_str().chars().all(|c| c.is_ascii_digit()));
            }
        }

        #[test]
        fn every_digit_string_of_the_length_parses(code in "[0-9]{6}") {
            prop_assert_eq!(VerificationCode::parse(&code, Some(6)).map(|c| c.as_str().to_string()), Ok(code));
        }
    }
}
