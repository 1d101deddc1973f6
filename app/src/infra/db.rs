//! Database errors as API errors: named unique constraints become conflicts, anything else is
//! internal (see `From<sqlx::Error> for ApiError`). Never by message text.

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

/// The name of the unique constraint a statement violated, if that is what failed.
fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

pub trait DbResultExt<T> {
    /// A unique violation of `constraint` becomes `conflict()`; any other failure is internal,
    /// with `operation` in its logged cause.
    fn on_constraint(
        self,
        constraint: &str,
        conflict: impl FnOnce() -> ApiError,
        operation: &str,
    ) -> Result<T, ApiError>;

    /// The unique email and phone of accounts become `email_taken` / `phone_taken`.
    fn on_user_conflict(self, operation: &str) -> Result<T, ApiError>;
}

impl<T> DbResultExt<T> for Result<T, sqlx::Error> {
    fn on_constraint(
        self,
        constraint: &str,
        conflict: impl FnOnce() -> ApiError,
        operation: &str,
    ) -> Result<T, ApiError> {
        self.map_err(|e| {
            if violated_constraint(&e) == Some(constraint) {
                conflict()
            } else {
                ApiError::from(e).context(operation)
            }
        })
    }

    fn on_user_conflict(self, operation: &str) -> Result<T, ApiError> {
        self.map_err(|e| match violated_constraint(&e) {
            Some(USERS_EMAIL_KEY) => email_taken(),
            Some(USERS_PHONE_KEY) => phone_taken(),
            _ => ApiError::from(e).context(operation),
        })
    }
}
