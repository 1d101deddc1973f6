use crate::t;
use email_address::{EmailAddress, Options};

use super::FieldError;

/// An email address as the person typed it (trimmed), checked by an RFC 5321/5322 parser.
/// Uniqueness is case-insensitive and enforced by the database (`lower(email)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// RFC 5321 caps a forward path at 256 octets, so an address at 254.
    pub const MAX_BYTES: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(t!(fields.email_required)));
        }
        if trimmed.len() > Self::MAX_BYTES {
            return Err(FieldError::new(t!(fields.email_too_long)));
        }
        // A sign-up address must be deliverable on the internet: a domain with a dot (no
        // `user@localhost`), no `[127.0.0.1]` literals, no display names.
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        match EmailAddress::parse_with_options(trimmed, options) {
            Ok(address) if !address.domain().ends_with('.') => Ok(Self(trimmed.to_string())),
            _ => Err(FieldError::new(t!(fields.email_invalid))),
        }
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
    fn accepts_ordinary_addresses() {
        for ok in [
            "ada@example.com",
            " Ada.Lovelace+news@Example.CO.uk ",
            "o'brien@example.ie",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_cannot_receive_mail() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "ada@[127.0.0.1]",
            "Ada <ada@example.com>",
            "ada@exa mple.com",
            "ada@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_what_it_accepts(raw in "\\PC{0,300}") {
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(email.as_str(), raw.trim());
                prop_assert!(email.as_str().len() <= Email::MAX_BYTES);
                prop_assert!(email.as_str().contains('@'));
            }
        }

        #[test]
        fn generated_addresses_parse(local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", domain in "[a-z][a-z0-9-]{0,20}[a-z0-9]\\.[a-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            prop_assume!(!local.contains(".."));
            prop_assert!(Email::parse(&raw).is_ok(), "{}", raw);
        }
    }
}
