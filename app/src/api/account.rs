//! The signed-in account: sign-in, tokens, profile, password, sessions and security history.
//!
//! Every endpoint but `login` and `token` takes the session cookie or `Authorization: Bearer`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// What the app stores about a person, as they may see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: String,
    /// RFC 3339.
    pub email_verified_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user: Profile,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenIssued {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl std::fmt::Debug for TokenIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssued")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The answer of endpoints that have nothing else to say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub ok: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session_id: Uuid,
    /// `cookie` (a browser) or `bearer` (a program's token).
    pub kind: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    pub kind: String,
    pub created_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSentTo {
    pub code_expires_in: u64,
}

/// Everything the product stores about a person, without secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountExport {
    pub profile: Profile,
    pub sessions: Vec<SessionInfo>,
    pub security_events: Vec<SecurityEvent>,
}

/// Signs in with a session cookie (HttpOnly, SameSite=Lax).
#[server(endpoint = "login", input = server_fn::codec::Json)]
pub async fn login(
    #[server(default)] email: String,
    #[server(default)] password: String,
) -> Result<SignedIn, ApiError> {
    crate::backend::account::login(email, password).await
}

/// Issues a bearer token for programs; no cookie.
#[server(endpoint = "token", input = server_fn::codec::Json)]
pub async fn token(
    #[server(default)] email: String,
    #[server(default)] password: String,
) -> Result<TokenIssued, ApiError> {
    crate::backend::account::token(email, password).await
}

/// Revokes the session or token the request came with.
#[server(endpoint = "logout", input = server_fn::codec::Json)]
pub async fn logout() -> Result<Done, ApiError> {
    crate::backend::account::logout().await
}

#[server(endpoint = "profile", input = server_fn::codec::GetUrl)]
pub async fn get_profile() -> Result<Profile, ApiError> {
    crate::backend::account::profile().await
}

/// Changes any of `first_name`, `last_name`, `phone_number`; any other key is refused.
#[server(endpoint = "update-profile", input = server_fn::codec::Json)]
pub async fn update_profile(
    #[server(flatten)] changes: serde_json::Map<String, serde_json::Value>,
) -> Result<Profile, ApiError> {
    crate::backend::account::update_profile(changes).await
}

/// Revokes every other session and token; a notice goes to the account's email.
#[server(endpoint = "change-password", input = server_fn::codec::Json)]
pub async fn change_password(
    #[server(default)] current_password: String,
    #[server(default)] new_password: String,
) -> Result<Done, ApiError> {
    crate::backend::account::change_password(current_password, new_password).await
}

#[server(endpoint = "sessions", input = server_fn::codec::GetUrl)]
pub async fn sessions() -> Result<Vec<SessionInfo>, ApiError> {
    crate::backend::account::sessions().await
}

#[server(endpoint = "revoke-session", input = server_fn::codec::Json)]
pub async fn revoke_session(#[server(default)] session_id: String) -> Result<Done, ApiError> {
    crate::backend::account::revoke_session(session_id).await
}

/// Newest first.
#[server(endpoint = "security-events", input = server_fn::codec::GetUrl)]
pub async fn security_events(
    #[server(default)] limit: Option<u32>,
    #[server(default)] offset: Option<u32>,
) -> Result<Vec<SecurityEvent>, ApiError> {
    crate::backend::account::security_events(limit, offset).await
}

/// Sends a code to `new_email` (and a notice to the current address); nothing changes until
/// `confirm-email`.
#[server(endpoint = "change-email", input = server_fn::codec::Json)]
pub async fn change_email(
    #[server(default)] new_email: String,
    #[server(default)] password: String,
) -> Result<CodeSentTo, ApiError> {
    crate::backend::account_changes::change_email(new_email, password).await
}

#[server(endpoint = "confirm-email", input = server_fn::codec::Json)]
pub async fn confirm_email(#[server(default)] code: String) -> Result<Profile, ApiError> {
    crate::backend::account_changes::confirm_email(code).await
}

/// Always 200, whatever the address: a code goes out only to an activated account.
#[server(endpoint = "request-password-reset", input = server_fn::codec::Json)]
pub async fn request_password_reset(#[server(default)] email: String) -> Result<Done, ApiError> {
    crate::backend::account_changes::request_password_reset(email).await
}

/// Every session and token of the account is revoked.
#[server(endpoint = "reset-password", input = server_fn::codec::Json)]
pub async fn reset_password(
    #[server(default)] email: String,
    #[server(default)] code: String,
    #[server(default)] new_password: String,
) -> Result<Done, ApiError> {
    crate::backend::account_changes::reset_password(email, code, new_password).await
}

#[server(endpoint = "delete-account", input = server_fn::codec::Json)]
pub async fn delete_account(#[server(default)] password: String) -> Result<Done, ApiError> {
    crate::backend::account_changes::delete_account(password).await
}

#[server(endpoint = "export-account", input = server_fn::codec::GetUrl)]
pub async fn export_account() -> Result<AccountExport, ApiError> {
    crate::backend::account_changes::export_account().await
}

/// Who is signed in on this browser, if anyone: what the header shows. Reads only, so a
/// cross-site request simply counts as signed out.
#[server(endpoint = "current-user", input = server_fn::codec::GetUrl)]
pub async fn current_user() -> Result<Option<Profile>, ApiError> {
    crate::backend::account::current_user().await
}
