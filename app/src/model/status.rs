use serde::{Deserialize, Serialize};

use crate::domain::Currency;

/// Whether the parts the product needs are answering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusReport {
    /// `true` when Postgres answered a query just now.
    pub database_ok: bool,
    /// The server's version, from its Cargo manifest.
    pub version: String,
}

/// The rules the pages explain to people, as this server applies them: the UI never copies
/// them into constants of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PublicSettings {
    /// Digits in a one-time code.
    pub code_length: usize,
    /// Seconds a fresh code works.
    pub code_ttl_secs: u64,
    /// Seconds before another code may be asked for.
    pub resend_cooldown_secs: u64,
    /// Digits in a password reset code (longer than the other codes: it replaces a password).
    pub reset_code_length: usize,
    /// Seconds a password reset code works.
    pub reset_code_ttl_secs: u64,
    /// Wrong reset codes one address allows per 24 hours, over all its codes.
    pub reset_failures_per_day: u32,
    /// The currency of every price (ISO 4217): `"EUR"`.
    pub currency: Currency,
    /// Lines one order may have (`POST /api/place-order`): the most products a cart holds.
    pub order_max_lines: usize,
    /// Units of one product one line of an order may ask for.
    pub order_max_quantity: u32,
}

impl Default for PublicSettings {
    /// What the pages assume before the server has said (never used once it has).
    fn default() -> Self {
        Self {
            code_length: 4,
            code_ttl_secs: 60,
            resend_cooldown_secs: 30,
            reset_code_length: 10,
            reset_code_ttl_secs: 600,
            reset_failures_per_day: 20,
            currency: Currency::EUR,
            order_max_lines: crate::domain::ORDER_MAX_LINES,
            order_max_quantity: crate::domain::ORDER_MAX_QUANTITY,
        }
    }
}

impl PublicSettings {
    /// "one minute", "5 minutes", "90 seconds".
    pub fn code_lifetime_text(&self) -> String {
        human_duration(self.code_ttl_secs)
    }

    /// How long a password reset code works, as the page says it.
    pub fn reset_code_lifetime_text(&self) -> String {
        human_duration(self.reset_code_ttl_secs)
    }

    /// "12345 67890": how a reset code of this length is shown, in two groups past 6 digits.
    /// Built a character at a time: slicing a `str` would bring its panic message's formatting
    /// (Unicode tables, about 25 KiB) into every page's download.
    pub fn reset_code_example(&self) -> String {
        let length = self.reset_code_length;
        let split_at = if length > 6 { length.div_ceil(2) } else { 0 };
        let mut example = String::with_capacity(length + 1);
        for (index, digit) in "1234567890".chars().cycle().take(length).enumerate() {
            if index == split_at && index > 0 {
                example.push(' ');
            }
            example.push(digit);
        }
        example
    }
}

/// "one minute", "5 minutes", "90 seconds", "one second", in this page's language.
pub fn human_duration(secs: u64) -> String {
    let (key, count) = duration_parts(secs);
    crate::language::plural(key, count)
}

/// The same in a given language (emails).
#[cfg(feature = "ssr")]
pub fn human_duration_in(locale: crate::language::Locale, secs: u64) -> String {
    let (key, count) = duration_parts(secs);
    crate::language::plural_in(locale, key, count)
}

/// Whole minutes as minutes, anything else as seconds.
fn duration_parts(secs: u64) -> (crate::language::Plural, u64) {
    use crate::language::k::common;
    match secs {
        s if s % 60 == 0 && s > 0 => (common::duration_minutes, s / 60),
        s => (common::duration_seconds, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_code_example_has_its_length_in_two_groups() {
        let example = |reset_code_length| {
            PublicSettings {
                reset_code_length,
                ..PublicSettings::default()
            }
            .reset_code_example()
        };
        assert_eq!(example(10), "12345 67890");
        assert_eq!(example(9), "12345 6789");
        assert_eq!(example(6), "123456");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(60), "one minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(90), "90 seconds");
        assert_eq!(human_duration(1), "one second");
    }
}
