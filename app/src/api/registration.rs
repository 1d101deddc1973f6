//! `POST /api/register`, `POST /api/activate`, `POST /api/resend-code`.
//!
//! The request and response types are shared with the browser; the rules live in
//! `backend::registration` on the server.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// What `/api/register` takes, field for field. A missing field reads as empty and gets the
/// same `invalid` error, with its name, as an empty one.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: String,
    pub password: String,
}

impl std::fmt::Debug for RegisterForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterForm")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub user_id: Uuid,
    /// The address as stored (trimmed, case kept).
    pub email: String,
    /// The number in E.164 form.
    pub phone_number: String,
    /// Seconds until the emailed code expires.
    pub code_expires_in: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activated {
    pub activated: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeSent {
    pub code_expires_in: u64,
}

/// Seconds between two codes for one account (or the code lifetime, when shorter); the UI
/// enables "Send a new code" after it.
pub const RESEND_COOLDOWN_SECS: u64 = 30;

pub fn resend_cooldown_secs(code_expires_in: u64) -> u64 {
    RESEND_COOLDOWN_SECS.min(code_expires_in)
}

#[server(endpoint = "register", input = server_fn::codec::Json)]
pub async fn register(
    #[server(default)] first_name: String,
    #[server(default)] last_name: String,
    #[server(default)] email: String,
    #[server(default)] phone_number: String,
    #[server(default)] password: String,
) -> Result<Registered, ApiError> {
    crate::backend::registration::register(RegisterForm {
        first_name,
        last_name,
        email,
        phone_number,
        password,
    })
    .await
}

/// Authenticated with `Authorization: Basic base64(email:password)`.
#[server(endpoint = "activate", input = server_fn::codec::Json)]
pub async fn activate(#[server(default)] code: String) -> Result<Activated, ApiError> {
    with_basic_challenge(crate::backend::registration::activate(code).await)
}

/// Authenticated with `Authorization: Basic base64(email:password)`.
#[server(endpoint = "resend-code", input = server_fn::codec::Json)]
pub async fn resend_code() -> Result<CodeSent, ApiError> {
    with_basic_challenge(crate::backend::registration::resend_code().await)
}

/// A 401 from a Basic-Auth endpoint says how to authenticate (RFC 9110 §11.6.1).
#[cfg(feature = "ssr")]
fn with_basic_challenge<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &result
        && e.error == crate::error::ErrorCode::InvalidCredentials
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.insert_header(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static(r#"Basic realm="accounts", charset="UTF-8""#),
        );
    }
    result
}
