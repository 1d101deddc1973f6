use crate::t;
use std::fmt;

use super::FieldError;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A password that passed the rules: 8–128 characters of any Unicode, never trimmed or
/// truncated, and (on the server) not on the list of common passwords.
///
/// Holds a secret, so it has no `Serialize` and its `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(FieldError::new(t!(
                fields.at_least_chars,
                min = PASSWORD_MIN_CHARS
            )));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(FieldError::new(t!(
                fields.at_most_chars,
                max = PASSWORD_MAX_CHARS
            )));
        }
        #[cfg(feature = "ssr")]
        if common::is_common(raw) {
            return Err(FieldError::new(t!(fields.password_common)));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// The 8-character-and-longer part of Django's common-password list (20,000 passwords from
/// public breach corpora, BSD licence), shipped in the repository: no network lookups. Too big
/// for the WASM bundle, so the browser checks length only and the server says the rest.
#[cfg(feature = "ssr")]
mod common {
    use std::{collections::HashSet, sync::OnceLock};

    const LIST: &str = include_str!("common-passwords.txt");

    pub(super) fn is_common(password: &str) -> bool {
        static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
        let set = SET.get_or_init(|| LIST.lines().map(str::trim).collect());
        // The list is lower case; `Password1` is as weak as `password1`.
        set.contains(password.trim().to_lowercase().as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Password::parse("ñññññññ").is_err());
        assert!(Password::parse("ññññññ🦀ñ").is_ok());
        assert!(Password::parse(&"🦀".repeat(128)).is_ok());
        assert!(Password::parse(&"🦀".repeat(129)).is_err());
    }

    #[test]
    fn keeps_spaces_and_never_truncates() {
        let raw = format!("  {}  ", "x7#".repeat(40));
        assert_eq!(
            Password::parse(&raw).map(|p| p.expose().to_string()),
            Ok(raw)
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn refuses_common_passwords_in_any_case() {
        for common in [
            "password",
            "Password1",
            "QWERTYUIOP",
            "12345678",
            "iloveyou",
        ] {
            assert!(Password::parse(common).is_err(), "{common}");
        }
        assert!(Password::parse("correct horse battery staple").is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let p = Password::parse("correct horse battery staple").expect("valid");
        assert!(!format!("{p:?}").contains("horse"));
    }

    proptest! {
        #[test]
        fn length_rule_holds(raw in "\\PC{0,140}") {
            let n = raw.chars().count();
            if let Ok(p) = Password::parse(&raw) {
                prop_assert!((8..=128).contains(&n));
                prop_assert_eq!(p.expose(), raw.as_str());
            }
            if !(8..=128).contains(&n) {
                prop_assert!(Password::parse(&raw).is_err());
            }
        }
    }
}
