use super::FieldError;
use crate::t;

/// Longest input worth handing to the parser: E.164 has at most 15 digits; spaces, dashes and
/// brackets fit comfortably in 32 characters.
const MAX_INPUT_CHARS: usize = 32;

/// The browser's light check, the same shape as the server's rules: digits with optional
/// spacing, brackets and dashes, an optional leading `+`, 6 to 15 digits. The full check needs
/// libphonenumber's metadata, which stays on the server (hundreds of KB of WASM otherwise).
pub fn check_phone_shape(raw: &str) -> Result<(), FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(t!(fields.phone_required)));
    }
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.');
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if trimmed.chars().count() > MAX_INPUT_CHARS || !body.chars().all(allowed) {
        return Err(FieldError::new(t!(fields.phone_characters)));
    }
    if !(6..=15).contains(&digits) {
        return Err(FieldError::new(t!(fields.phone_too_short)));
    }
    Ok(())
}

#[cfg(feature = "ssr")]
pub use server::{PhoneNumber, Region, international};

#[cfg(feature = "ssr")]
mod server {
    use phonenumber::Mode;

    use super::{FieldError, check_phone_shape};
    use crate::t;

    /// The country a number without `+` belongs to (`DEFAULT_PHONE_REGION`).
    pub type Region = phonenumber::country::Id;

    /// A valid phone number in E.164 form (`+442079460958`): the form stored and compared.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PhoneNumber(String);

    impl PhoneNumber {
        pub fn parse(raw: &str, default_region: Region) -> Result<Self, FieldError> {
            check_phone_shape(raw)?;
            let invalid = || FieldError::new(t!(fields.phone_invalid));
            let raw = raw.trim();
            // A number with its country code must not depend on the default region (the
            // parser would otherwise strip e.g. a US trunk prefix "1" after "+43").
            let region = (!raw.starts_with('+')).then_some(default_region);
            let number = phonenumber::parse(region, raw).map_err(|_| invalid())?;
            if number.extension().is_some() || !phonenumber::is_valid(&number) {
                return Err(invalid());
            }
            let e164 = number.format().mode(Mode::E164).to_string();
            // The stored form must stand on its own: parsed again it is the same valid number.
            // (libphonenumber accepts a few spellings whose E.164 form it then rejects.)
            match phonenumber::parse(None, &e164) {
                Ok(again)
                    if phonenumber::is_valid(&again)
                        && again.format().mode(Mode::E164).to_string() == e164 =>
                {
                    Ok(Self(e164))
                }
                _ => Err(invalid()),
            }
        }

        pub fn as_str(&self) -> &str {
            &self.0
        }

        pub fn into_inner(self) -> String {
            self.0
        }
    }

    /// How a stored number reads (`+44 20 7946 0958` for `+442079460958`); the stored text
    /// itself if it does not parse.
    ///
    /// Every signed-in read formats the caller's number, and the numbering plan's regular
    /// expressions cost more CPU than the rest of the read: a number always reads the same, so
    /// each process keeps the last [`FORMATTED_KEPT`] it formatted (a few hundred KiB at most).
    pub fn international(e164: &str) -> String {
        use std::{
            collections::HashMap,
            sync::{Mutex, PoisonError},
        };
        static FORMATTED: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
        let kept = FORMATTED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|map| map.get(e164).cloned());
        if let Some(shown) = kept {
            return shown;
        }
        let shown = phonenumber::parse(None, e164)
            .map(|number| number.format().mode(Mode::International).to_string())
            .unwrap_or_else(|_| e164.to_string());
        let mut formatted = FORMATTED.lock().unwrap_or_else(PoisonError::into_inner);
        let map = formatted.get_or_insert_with(HashMap::new);
        if map.len() >= FORMATTED_KEPT {
            map.clear();
        }
        map.insert(e164.to_string(), shown.clone());
        shown
    }

    /// How many formatted numbers a process keeps; past it, it starts again from none.
    pub const FORMATTED_KEPT: usize = 4096;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn shape_check_accepts_common_spellings() {
        for ok in [
            "+44 20 7946 0958",
            "020 7946 0958",
            "(202) 555-0143",
            "+1.202.555.0143",
        ] {
            assert!(check_phone_shape(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "+",
            "12345",
            "call me",
            "+44 20 7946 0958 ext 2",
            "++4420794609",
        ] {
            assert!(check_phone_shape(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "ssr")]
    mod server {
        use super::super::{PhoneNumber, Region};
        use proptest::prelude::*;

        #[test]
        fn normalises_to_e164() {
            let e164 = |raw| PhoneNumber::parse(raw, Region::GB).map(PhoneNumber::into_inner);
            assert_eq!(e164("+44 20 7946 0958"), Ok("+442079460958".to_string()));
            assert_eq!(e164("020 7946 0958"), Ok("+442079460958".to_string()));
            assert_eq!(e164("+1 (650) 253-0000"), Ok("+16502530000".to_string()));
            let us = PhoneNumber::parse("(650) 253-0000", Region::US).map(PhoneNumber::into_inner);
            assert_eq!(us, Ok("+16502530000".to_string()));
        }

        #[test]
        fn stored_numbers_read_in_their_international_format() {
            use super::super::international;
            assert_eq!(international("+442079460958"), "+44 20 7946 0958");
            assert_eq!(international("+16502530000"), "+1 650-253-0000");
            assert_eq!(international("+33142685300"), "+33 1 42 68 53 00");
            assert_eq!(international("not a number"), "not a number");
            // Kept, and the same the second time.
            assert_eq!(international("+442079460958"), "+44 20 7946 0958");
        }

        #[test]
        fn a_number_with_its_country_code_ignores_the_default_region() {
            let e164 = |raw, region| PhoneNumber::parse(raw, region).map(PhoneNumber::into_inner);
            assert_eq!(e164("+4312000 ", Region::GB), e164("+4312000", Region::US));
            assert_eq!(
                e164("+44 20 7946 0958", Region::US),
                Ok("+442079460958".to_string())
            );
        }

        #[test]
        fn refuses_invalid_numbers() {
            for bad in [
                "+44 20 1234",
                "+999 1234 5678",
                "000000000",
                "+44 00 0000 0000",
            ] {
                assert!(PhoneNumber::parse(bad, Region::GB).is_err(), "{bad}");
            }
        }

        proptest! {
            #[test]
            fn never_panics_and_outputs_e164(raw in "[+]?[0-9 ()\\-.]{0,40}") {
                if let Ok(n) = PhoneNumber::parse(&raw, Region::GB) {
                    let s = n.as_str();
                    prop_assert!(s.starts_with('+'));
                    prop_assert!(s[1..].chars().all(|c| c.is_ascii_digit()));
                    prop_assert!((7..=16).contains(&s.len()));
                    // Normalising twice changes nothing.
                    prop_assert_eq!(PhoneNumber::parse(s, Region::US), Ok(n.clone()));
                }
            }

            #[test]
            fn arbitrary_text_never_panics(raw in "\\PC{0,60}") {
                let _ = PhoneNumber::parse(&raw, Region::GB);
            }
        }
    }

    proptest! {
        #[test]
        fn shape_check_never_panics(raw in "\\PC{0,60}") {
            let _ = check_phone_shape(&raw);
        }
    }
}
