//! Database errors as API errors: named unique constraints become conflicts, Postgres out of
//! reach is `unavailable`, anything else is internal (see `From<sqlx::Error> for ApiError`).
//! Never by message text: by error kind and SQLSTATE.

use crate::error::{ApiError, ErrorCode};
use crate::t;

/// The unique index on `lower(users.email)`.
pub const USERS_EMAIL_KEY: &str = "users_email_key";
/// The unique index on `users.phone_number` (E.164).
pub const USERS_PHONE_KEY: &str = "users_phone_number_key";

pub fn email_taken() -> ApiError {
    ApiError::new(ErrorCode::EmailTaken, t!(errors.email_taken)).with_field("email")
}

pub fn phone_taken() -> ApiError {
    ApiError::new(ErrorCode::PhoneTaken, t!(errors.phone_taken)).with_field("phone_number")
}

/// What a client is asked to wait (`Retry-After`) when Postgres is out of reach: a restart
/// or a failover takes seconds.
pub const UNREACHABLE_RETRY_AFTER_SECS: u64 = 5;

/// Whether `error` says Postgres could not be reached or went away, rather than that the
/// statement was wrong: no connection within the acquire timeout (Postgres down: the pool
/// keeps trying to connect until then), a connection that broke, or the server shutting
/// down, starting up or out of connection slots.
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exception; 57P01-57P03: admin or crash shutdown, cannot
            // connect now; 53300: too many connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn postgres_out_of_reach_is_unavailable_with_retry_after() {
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            assert!(is_unreachable(&error), "{error}");
            let api = ApiError::from(error);
            assert_eq!(api.error, ErrorCode::Unavailable);
            assert_eq!(api.status(), 503);
            assert_eq!(api.retry_after, Some(UNREACHABLE_RETRY_AFTER_SECS));
            assert!(api.cause().is_some(), "the cause is kept for the log");
            let json = serde_json::to_string(&api).expect("serialises");
            assert!(!json.contains("reset"), "never sent: {json}");
        }
    }

    #[test]
    fn other_database_errors_stay_internal() {
        for error in [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("unexpected message".into()),
        ] {
            assert!(!is_unreachable(&error), "{error}");
            assert_eq!(ApiError::from(error).error, ErrorCode::Internal);
        }
    }
}
