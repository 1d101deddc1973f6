//! The one error type every server function returns.
//!
//! On the wire an error is `{"error": "<code>", "message": "<sentence>", "field": "<input>"?}` with
//! an HTTP status chosen by the code. The server's API middleware reads the code and sets the
//! status, so a server function only picks the right [`ErrorCode`], and errors raised by the
//! framework itself (a malformed body, say) map to a client error instead of a 500. The
//! `message` is in the request's language (`locales/<code>/errors.json`, through `t!`); the
//! code is the same in every language.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

use crate::{
    language::{k, plural},
    t,
};

/// Stable, snake_case error codes: part of the public HTTP contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or a field did not parse.
    Invalid,
    /// The path names no endpoint.
    NotFound,
    /// The method is not allowed on this endpoint.
    MethodNotAllowed,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// Too many requests: slow down (see `Retry-After`).
    TooManyRequests,
    /// The server is overloaded or a dependency is down: try again (see `Retry-After`).
    Unavailable,
    /// Another account already uses this email address.
    EmailTaken,
    /// Another account already uses this phone number.
    PhoneTaken,
    /// Missing or wrong credentials. Unknown email and wrong password look the same.
    InvalidCredentials,
    /// The code is wrong; `attempts_left` says how many tries the code has left.
    InvalidCode,
    /// The password checked out on an account with a second factor: `challenge` and `methods`
    /// say how to finish (`POST /api/second-factor`).
    SecondFactorRequired,
    /// An authenticator app is already set up.
    TotpAlreadyEnabled,
    /// No authenticator app is being set up.
    TotpNotStarted,
    /// The account has no second factor.
    NoSecondFactor,
    /// The passkey did not check out: not made for this site, not this ceremony's, or its
    /// signature or counter is wrong.
    InvalidPasskey,
    /// An administrator without a second factor, where `ADMIN_REQUIRE_SECOND_FACTOR` asks for
    /// one: set one up on the account page first.
    SecondFactorSetupRequired,
    /// Passkeys are off on this server: its address is an IP address, which WebAuthn refuses
    /// as a relying party (`APP_BASE_URL`, `WEBAUTHN_RP_ID`).
    PasskeysUnavailable,
    /// The code's lifetime is over: ask for a new one.
    CodeExpired,
    /// Too many wrong passwords for this email (or attempts from this network): wait for
    /// `Retry-After`. The same on sign-in, token, activation and resend.
    TooManyAttempts,
    /// This one-time code took too many wrong tries and no longer works: ask for a new one.
    CodeUsedUp,
    /// The account is already activated.
    AlreadyActive,
    /// Too many failed attempts on this pending account: it can no longer be activated.
    AccountLocked,
    /// A new code was sent moments ago (see `Retry-After`).
    ResendTooSoon,
    /// The password is right but the account has not been activated yet.
    NotActivated,
    /// No valid session cookie or bearer token came with the request.
    Unauthenticated,
    /// Refused: a session cookie sent from another site, or an administrators' endpoint called
    /// by someone who is not one.
    Forbidden,
    /// An administrator disabled this account: no sign-in, activation or reset.
    AccountDisabled,
    /// Administrators cannot disable, demote or delete their own account here.
    CannotModifySelf,
    /// The change would leave no administrator.
    LastAdmin,
    /// The account is not disabled.
    NotDisabled,
    /// The account is already disabled.
    AlreadyDisabled,
    /// Only a `dead` email can be queued again.
    NotDead,
    /// This dead email carried a code, which has expired with its body: send a new code instead.
    NotRetryable,
    /// Another product already has this name (names are unique, case-insensitively).
    NameTaken,
    /// The product changed since the `version` sent (an edit or an order): reload and retry.
    VersionConflict,
    /// A line of the order names no product of the catalogue (`field` says which).
    ProductNotFound,
    /// Some lines ask for more than is in stock; `lines` lists every short one. Nothing changed.
    InsufficientStock,
    /// This `Idempotency-Key` came with another request body.
    IdempotencyKeyReused,
    /// The order is already cancelled.
    AlreadyCancelled,
    /// Something failed on the server; the details are in its logs, never in the response.
    Internal,
    /// A code this build does not know (sent by a newer server): kept so clients never fail
    /// to decode an error.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::Invalid => S::UNPROCESSABLE_ENTITY,
            Self::NotFound => S::NOT_FOUND,
            Self::MethodNotAllowed => S::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => S::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests => S::TOO_MANY_REQUESTS,
            Self::Unavailable => S::SERVICE_UNAVAILABLE,
            Self::EmailTaken
            | Self::PhoneTaken
            | Self::AlreadyActive
            | Self::AccountLocked
            | Self::CannotModifySelf
            | Self::LastAdmin
            | Self::NotDisabled
            | Self::AlreadyDisabled
            | Self::NotDead
            | Self::NotRetryable
            | Self::NameTaken
            | Self::VersionConflict
            | Self::InsufficientStock
            | Self::AlreadyCancelled
            | Self::TotpAlreadyEnabled
            | Self::TotpNotStarted
            | Self::NoSecondFactor
            | Self::PasskeysUnavailable => S::CONFLICT,
            Self::ProductNotFound => S::NOT_FOUND,
            Self::IdempotencyKeyReused => S::UNPROCESSABLE_ENTITY,
            Self::InvalidCredentials | Self::Unauthenticated | Self::SecondFactorRequired => {
                S::UNAUTHORIZED
            }
            Self::NotActivated
            | Self::Forbidden
            | Self::AccountDisabled
            | Self::SecondFactorSetupRequired => S::FORBIDDEN,
            Self::InvalidCode | Self::InvalidPasskey => S::UNPROCESSABLE_ENTITY,
            Self::CodeExpired | Self::CodeUsedUp => S::GONE,
            Self::TooManyAttempts | Self::ResendTooSoon => S::TOO_MANY_REQUESTS,
            Self::Internal | Self::Unknown => S::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error as clients see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub error: ErrorCode,
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before trying again; also sent as the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// How many more tries the code allows (`invalid_code` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// `challenge` and `methods` (`second_factor_required` only), at the top level of the body.
    /// Boxed, so an `ApiError` stays small; the OpenAPI document lists the two fields
    /// (`api::openapi::document`).
    #[serde(default, flatten)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub second_step: Option<Box<crate::model::SecondStep>>,
    /// Every short line (`insufficient_stock` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Box<[crate::model::StockShortage]>>,
    /// Why an `internal` error happened, for the log line written when it becomes a response;
    /// never sent.
    #[serde(skip)]
    cause: Option<Box<str>>,
}

impl ApiError {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
            field: None,
            retry_after: None,
            attempts_left: None,
            second_step: None,
            lines: None,
            cause: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message).with_field(field)
    }

    /// A field that did not parse, with the parser's sentence.
    pub fn field(field: &str, error: crate::domain::FieldError) -> Self {
        Self::invalid(field, error.0)
    }

    pub fn invalid_credentials() -> Self {
        Self::new(
            ErrorCode::InvalidCredentials,
            t!(errors.invalid_credentials),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, t!(errors.unauthenticated))
    }

    /// A failure that is the server's fault. The cause travels with the error and is logged
    /// once, when the error becomes a response; it is never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut error = Self::new(ErrorCode::Internal, t!(errors.internal));
        error.cause = Some(cause.to_string().into());
        error
    }

    /// Names the operation that failed, in the logged cause of an error.
    pub fn context(mut self, operation: &str) -> Self {
        if let Some(cause) = &self.cause {
            self.cause = Some(format!("{operation}: {cause}").into());
        }
        self
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Logs the cause of an `internal` error (and, as a warning, of an `unavailable` one that
    /// has a cause: the database out of reach); called where the error leaves the server.
    pub fn log_if_internal(&self) {
        #[cfg(feature = "ssr")]
        match (self.error, self.cause.as_deref()) {
            (ErrorCode::Internal, cause) => {
                tracing::error!(error.cause = cause.unwrap_or("unknown"), "internal error");
            }
            (ErrorCode::Unavailable, Some(cause)) => {
                tracing::warn!(
                    error.cause = cause,
                    "answered 503: the database is out of reach"
                );
            }
            _ => {}
        }
    }

    pub fn invalid_code(attempts_left: u32) -> Self {
        let mut error = Self::new(
            ErrorCode::InvalidCode,
            if attempts_left == 0 {
                t!(errors.invalid_code_last_try).to_string()
            } else {
                plural(k::errors::invalid_code_tries_left, u64::from(attempts_left))
            },
        )
        .with_field("code");
        error.attempts_left = Some(attempts_left);
        error
    }

    pub fn second_factor_required(
        challenge: String,
        methods: Vec<crate::model::SecondFactorMethod>,
    ) -> Self {
        let mut error = Self::new(
            ErrorCode::SecondFactorRequired,
            t!(errors.second_factor_required),
        );
        error.second_step = Some(Box::new(crate::model::SecondStep { challenge, methods }));
        error
    }

    pub fn code_expired() -> Self {
        Self::new(ErrorCode::CodeExpired, t!(errors.code_expired))
    }

    pub fn code_used_up() -> Self {
        Self::new(ErrorCode::CodeUsedUp, t!(errors.code_used_up))
    }

    pub fn too_many_attempts(retry_after: u64) -> Self {
        Self::new(
            ErrorCode::TooManyAttempts,
            plural(k::errors::too_many_passwords, retry_after),
        )
        .with_retry_after(retry_after.max(1))
    }

    pub fn resend_too_soon(retry_after: u64) -> Self {
        Self::new(
            ErrorCode::ResendTooSoon,
            plural(k::errors::resend_too_soon, retry_after),
        )
        .with_retry_after(retry_after.max(1))
    }

    pub fn account_disabled() -> Self {
        Self::new(ErrorCode::AccountDisabled, t!(errors.account_disabled))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 404 `not_found`, with its whole sentence (`t!(errors.no_such_product)`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn insufficient_stock(lines: Vec<crate::model::StockShortage>) -> Self {
        let mut error = Self::new(ErrorCode::InsufficientStock, t!(errors.insufficient_stock));
        error.lines = Some(lines.into_boxed_slice());
        error
    }

    pub fn unavailable(retry_after: u64) -> Self {
        Self::new(ErrorCode::Unavailable, t!(errors.unavailable_busy)).with_retry_after(retry_after)
    }

    pub fn status(&self) -> http::StatusCode {
        self.error.status()
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    /// Where an error becomes a response: the one place an internal cause is logged (with
    /// [`ApiError::log_if_internal`] for resources rendered into a page).
    fn ser(&self) -> server_fn::Bytes {
        self.log_if_internal();
        <Self::Encoder as server_fn::Encodes<Self>>::encode(self).unwrap_or_else(|_| {
            let message = serde_json::to_string(t!(errors.internal_unencodable))
                .unwrap_or_else(|_| "\"\"".to_string());
            server_fn::Bytes::from(format!(r#"{{"error":"internal","message":{message}}}"#))
        })
    }

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The client sent something we could not read: its mistake, never a 500.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => {
                Self::new(ErrorCode::Invalid, t!(errors.body_does_not_fit))
            }
            ServerFnErrorErr::MissingArg(arg) => {
                Self::new(ErrorCode::Invalid, t!(errors.field_missing, field = arg)).with_field(arg)
            }
            ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                Self::new(ErrorCode::MethodNotAllowed, t!(errors.method_not_allowed))
            }
            // Network trouble seen by the browser: the request may not have reached us.
            ServerFnErrorErr::Request(_) => {
                Self::new(ErrorCode::Unavailable, t!(errors.unreachable))
            }
            other => Self::internal(other),
        }
    }
}

/// Database failures are the server's problem unless a caller maps them (see
/// [`crate::infra::db::DbResultExt`]). Postgres being out of reach (down, restarting, no
/// connection free within the acquire timeout) is `unavailable` with `Retry-After`: the
/// client may simply try again, and it is not a bug.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if crate::infra::db::is_unreachable(&error) {
            let mut unavailable =
                Self::new(ErrorCode::Unavailable, t!(errors.unavailable_database))
                    .with_retry_after(crate::infra::db::UNREACHABLE_RETRY_AFTER_SECS);
            unavailable.cause = Some(error.to_string().into());
            return unavailable;
        }
        Self::internal(error)
    }
}

/// `?` with a name for the operation: `.context("load the profile")?`.
pub trait Context<T> {
    fn context(self, operation: &str) -> Result<T, ApiError>;
}

impl<T> Context<T> for Result<T, ApiError> {
    fn context(self, operation: &str) -> Result<T, ApiError> {
        self.map_err(|e| e.context(operation))
    }
}

#[cfg(feature = "ssr")]
impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, operation: &str) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::from(e).context(operation))
    }
}

/// A page's data, loaded by calling its server function. Rendered on the server, the call runs
/// the function directly and its error goes into the page, never through
/// [`FromServerFnError::ser`] where a response's error is logged: so an internal cause is
/// logged here, once, with the id of the request the page answers (a resource runs on a task of
/// its own, outside the request's span).
#[cfg(feature = "ssr")]
pub async fn page_data<T>(
    load: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let request_id = leptos::prelude::use_context::<http::request::Parts>().and_then(|parts| {
        let id = parts.headers.get("x-request-id")?;
        id.to_str().ok().map(str::to_owned)
    });
    let result = load.await;
    if let Err(error) = &result {
        let span = tracing::error_span!(
            "page",
            request.id = request_id.as_deref().unwrap_or("unknown")
        );
        span.in_scope(|| error.log_if_internal());
    }
    result
}

/// In the browser the call went over HTTP, and the server logged any error when it answered:
/// the load itself, so the pages' download carries no wrapper for each of their resources.
#[cfg(not(feature = "ssr"))]
pub fn page_data<F>(load: F) -> F {
    load
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_public_shape() {
        let e = ApiError::invalid("email", "Enter a valid email address.");
        let json = serde_json::to_value(&e).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"error": "invalid", "message": "Enter a valid email address.", "field": "email"})
        );
    }

    #[test]
    fn codes_map_to_statuses() {
        assert_eq!(ErrorCode::Invalid.status(), 422);
        assert_eq!(ErrorCode::PayloadTooLarge.status(), 413);
        assert_eq!(ErrorCode::TooManyRequests.status(), 429);
        assert_eq!(ErrorCode::Unavailable.status(), 503);
        assert_eq!(ErrorCode::Internal.status(), 500);
        assert_eq!(ErrorCode::EmailTaken.status(), 409);
        assert_eq!(ErrorCode::InvalidCredentials.status(), 401);
        assert_eq!(ErrorCode::CodeExpired.status(), 410);
        assert_eq!(ErrorCode::ResendTooSoon.status(), 429);
        assert_eq!(ErrorCode::TooManyAttempts.status(), 429);
        assert_eq!(ErrorCode::CodeUsedUp.status(), 410);
        let json = serde_json::to_value(ErrorCode::ResendTooSoon).expect("serialises");
        assert_eq!(json, "resend_too_soon");
    }

    #[test]
    fn errors_stay_small_enough_to_return_by_value() {
        // clippy's `result_large_err` threshold: every server function returns this type.
        assert!(std::mem::size_of::<ApiError>() < 128);
    }

    #[test]
    fn unknown_codes_still_decode() {
        let e: ApiError =
            serde_json::from_str(r#"{"error":"from_the_future","message":"x"}"#).expect("decodes");
        assert_eq!(e.error, ErrorCode::Unknown);
    }

    #[test]
    fn malformed_bodies_are_client_errors() {
        let e = ApiError::from_server_fn_error(ServerFnErrorErr::Deserialization("eof".into()));
        assert_eq!(e.status(), 422);
    }
}

#[cfg(test)]
mod cause_tests {
    use super::*;

    #[test]
    fn internal_causes_gain_context_and_are_never_sent() {
        let e = ApiError::internal("connection reset").context("load the profile");
        assert_eq!(e.cause(), Some("load the profile: connection reset"));
        let json = serde_json::to_string(&e).expect("serialises");
        assert!(!json.contains("connection reset"), "{json}");
        assert_eq!(e.status(), 500);
    }
}
