use super::{FieldError, is_forbidden_char};
use crate::t;

/// A first name or surname: 1–100 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(t!(fields.required)));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(t!(
                fields.at_most_chars,
                max = Self::MAX_CHARS
            )));
        }
        if trimmed.chars().any(is_forbidden_char) {
            return Err(FieldError::new(t!(fields.control_chars)));
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn trims_and_keeps_unicode() {
        assert_eq!(
            PersonName::parse("  Zoë Ó Briain ").map(PersonName::into_inner),
            Ok("Zoë Ó Briain".to_string())
        );
    }

    #[test]
    fn refuses_empty_long_and_control() {
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert!(PersonName::parse("Ada\u{0}").is_err());
        assert!(PersonName::parse("Ada\nLovelace").is_err());
        assert!(PersonName::parse("Ada\u{202E}ecalevoL").is_err());
    }

    proptest! {
        #[test]
        fn accepted_names_are_trimmed_and_bounded(raw in "\\PC{0,120}") {
            if let Ok(name) = PersonName::parse(&raw) {
                let s = name.as_str();
                prop_assert_eq!(s, s.trim());
                prop_assert!((1..=100).contains(&s.chars().count()));
                prop_assert!(!s.chars().any(is_forbidden_char));
            }
        }

        #[test]
        fn parsing_is_idempotent(raw in "\\PC{0,120}") {
            if let Ok(name) = PersonName::parse(&raw) {
                prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
            }
        }
    }
}
