//! Mapping database errors to API errors by constraint name, never by message text.

use crate::error::{ApiError, ErrorCode};

/// The unique index on `lower(users.email)`.
pub const USERS_EMAIL_KEY: &str = "users_email_key";
/// The unique index on `users.phone_number` (E.164).
pub const USERS_PHONE_KEY: &str = "users_phone_number_key";

pub fn email_taken() -> ApiError {
    ApiError::new(
        ErrorCode::EmailTaken,
        "An account with this email address already exists.",
    )
    .with_field("email")
}

pub fn phone_taken() -> ApiError {
    ApiError::new(
        ErrorCode::PhoneTaken,
        "An account with this phone number already exists.",
    )
    .with_field("phone_number")
}

/// A unique violation on a known constraint becomes its conflict; anything else is internal.
pub fn map_conflict(error: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &error {
        match db.constraint() {
            Some(USERS_EMAIL_KEY) => return email_taken(),
            Some(USERS_PHONE_KEY) => return phone_taken(),
            _ => {}
        }
    }
    ApiError::internal(error)
}

/// For `?` on queries whose failure can only be the server's problem.
pub fn internal(error: sqlx::Error) -> ApiError {
    ApiError::internal(error)
}
