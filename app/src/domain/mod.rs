//! Parsed input types, shared by the browser (instant feedback) and the server (truth).
//!
//! Each type has one constructor, `parse`, so a value that exists is a value that passed the
//! rules. Parsers too heavy for the WASM bundle (the phone metadata, the common-password list)
//! run in full on the server only; the browser runs a light check of the same shape.

mod code;
mod currency;
mod email;
mod money;
mod name;
mod order;
mod password;
mod phone;

pub use code::{CODE_LENGTH_RANGE, VerificationCode};
pub use currency::Currency;
pub use email::Email;
pub use money::{MAX_PRICE_CENTS, Money, NumberStyle};
pub use name::PersonName;
pub use order::{ORDER_MAX_LINES, ORDER_MAX_QUANTITY};
pub use password::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, Password};
pub use phone::check_phone_shape;
#[cfg(feature = "ssr")]
pub use phone::{PhoneNumber, Region, international as international_phone};

/// Why a field was refused, as a sentence for the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

impl FieldError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Characters that may not appear in names: control characters and the invisible bidirectional
/// overrides that can make a name display as something else.
pub(crate) fn is_forbidden_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
