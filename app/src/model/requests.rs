//! The request bodies the OpenAPI document names: one per shape, named for what it carries.
//! A server function's arguments are not a type of their own that could derive `ToSchema`, so
//! these describe them (a test checks that each body names exactly its function's arguments).
//! Server-only: the browser calls the server functions with their arguments.

use serde_json::Value;
use utoipa::ToSchema;

use super::{OrderLineInput, Secret};

/// A missing field reads as empty and is refused as `invalid`, with its name in `field`.
#[derive(ToSchema)]
#[schema(example = json!({
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number": "+44 20 7946 0958",
    "password": "correct horse battery staple"
}))]
pub struct RegisterRequest {
    /// 1 to 100 characters, one line.
    pub first_name: String,
    /// 1 to 100 characters, one line.
    pub last_name: String,
    /// Unique among accounts, case-insensitively.
    pub email: String,
    /// Any common format; a number without `+` is read as British. Stored in E.164.
    pub phone_number: String,
    /// 8 to 128 characters, not a common password.
    pub password: Secret,
}

#[derive(ToSchema)]
#[schema(example = json!({"code": "0427"}))]
pub struct CodeRequest {
    /// The emailed code.
    pub code: Secret,
}

/// An empty object (or no body at all).
#[derive(ToSchema)]
#[schema(example = json!({}))]
pub struct EmptyRequest {}

#[derive(ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery staple"}))]
pub struct CredentialsRequest {
    pub email: String,
    pub password: Secret,
}

/// Only the fields to change; any other key is refused as `invalid` with its name.
#[derive(ToSchema)]
#[schema(example = json!({"first_name": "Augusta Ada"}))]
pub struct ProfileChangesRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    /// The language of the pages and emails (one of the product's codes); `null` for none, so
    /// the browser's `Accept-Language` decides.
    #[schema(nullable)]
    pub language: Option<crate::language::Locale>,
}

#[derive(ToSchema)]
#[schema(example = json!({
    "current_password": "correct horse battery staple",
    "new_password": "a different long passphrase"
}))]
pub struct ChangePasswordRequest {
    pub current_password: Secret,
    pub new_password: Secret,
}

#[derive(ToSchema)]
#[schema(example = json!({"session_id": "5b0c1f5e-2f4a-4c1e-9a57-0d9f3b8e6a21"}))]
pub struct RevokeSessionRequest {
    /// One of `GET /api/sessions`.
    pub session_id: String,
}

#[derive(ToSchema)]
#[schema(example = json!({"new_email": "ada@lovelace.example", "password": "correct horse battery staple"}))]
pub struct ChangeEmailRequest {
    pub new_email: String,
    pub password: Secret,
}

#[derive(ToSchema)]
#[schema(example = json!({"password": "correct horse battery staple"}))]
pub struct PasswordRequest {
    pub password: Secret,
}

#[derive(ToSchema)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct EmailRequest {
    pub email: String,
}

#[derive(ToSchema)]
#[schema(example = json!({
    "email": "ada@example.com",
    "code": "042742",
    "new_password": "a different long passphrase"
}))]
pub struct ResetPasswordRequest {
    pub email: String,
    /// The emailed code.
    pub code: Secret,
    pub new_password: Secret,
}

#[derive(ToSchema)]
#[schema(example = json!({"user_id": "0b8f8a1e-3c0d-4b53-9d7e-2f1f5b6a7c88"}))]
pub struct UserIdRequest {
    pub user_id: String,
}

#[derive(ToSchema)]
#[schema(example = json!({
    "user_id": "0b8f8a1e-3c0d-4b53-9d7e-2f1f5b6a7c88",
    "reason": "Reported for abuse"
}))]
pub struct DisableUserRequest {
    pub user_id: String,
    /// 1 to 500 characters; kept in the audit log, never shown to the person.
    pub reason: String,
}

#[derive(ToSchema)]
#[schema(example = json!({"user_id": "0b8f8a1e-3c0d-4b53-9d7e-2f1f5b6a7c88", "role": "admin"}))]
pub struct SetRoleRequest {
    pub user_id: String,
    /// `user` or `admin`.
    pub role: String,
}

#[derive(ToSchema)]
#[schema(example = json!({"id": 42}))]
pub struct RetryEmailRequest {
    /// A `dead` row of `GET /api/admin/outbox`.
    pub id: i64,
}

#[derive(ToSchema)]
#[schema(example = json!({"id": "3d6f0c1a-9b7e-4e52-8f4a-1c2d3e4f5a6b"}))]
pub struct IdRequest {
    pub id: String,
}

#[derive(ToSchema)]
#[schema(example = json!({
    "name": "Desk lamp",
    "description": "Warm light, adjustable arm.",
    "price": "24.90",
    "stock": 12
}))]
pub struct CreateProductRequest {
    /// One line, 1 to 200 characters, unique case-insensitively.
    pub name: String,
    /// Up to 5,000 characters.
    pub description: Option<String>,
    /// A string or a number with at most two decimals.
    #[schema(value_type = String)]
    pub price: Value,
    /// A whole number, 0 or more.
    pub stock: u32,
}

/// Fields not sent are kept.
#[derive(ToSchema)]
#[schema(example = json!({
    "id": "3d6f0c1a-9b7e-4e52-8f4a-1c2d3e4f5a6b",
    "version": 1,
    "price": "19.90"
}))]
pub struct UpdateProductRequest {
    pub id: String,
    /// The product's `version` as last read: a stale one is refused (`version_conflict`).
    pub version: u32,
    pub name: Option<String>,
    pub description: Option<String>,
    /// A string or a number with at most two decimals.
    #[schema(value_type = Option<String>)]
    pub price: Option<Value>,
    pub stock: Option<u32>,
}

#[derive(ToSchema)]
#[schema(example = json!({
    "items": [{"product_id": "3d6f0c1a-9b7e-4e52-8f4a-1c2d3e4f5a6b", "quantity": 2}]
}))]
pub struct PlaceOrderRequest {
    /// 1 to 50 lines, each product once.
    pub items: Vec<OrderLineInput>,
}

/// A code from the authenticator app being set up.
#[derive(ToSchema)]
#[schema(example = json!({"code": "492039"}))]
pub struct TotpCodeRequest {
    /// Six digits.
    pub code: Secret,
}

/// The password, and a current second factor.
#[derive(ToSchema)]
#[schema(example = json!({"password": "correct horse battery staple", "code": "492039"}))]
pub struct PasswordAndCodeRequest {
    pub password: Secret,
    /// A code from the authenticator app, or a recovery code.
    pub code: Secret,
}

/// The second step of a sign-in: the challenge, and one of `code` or `recovery_code`.
#[derive(ToSchema)]
#[schema(example = json!({"challenge": "h2F0Y2hhbGxlbmdlLXRva2VuLWV4YW1wbGUtMzItYnl0ZXM", "code": "492039"}))]
pub struct SecondFactorRequest {
    /// From the first step's `second_factor_required` answer; lives 5 minutes.
    pub challenge: String,
    /// A code from the authenticator app.
    pub code: Option<Secret>,
    /// One of the recovery codes (each works once); dashes and case do not matter.
    pub recovery_code: Option<Secret>,
}

/// What a passkey ceremony is for: `register` with the `password` (signed in), `login`, or
/// `second_factor` with the first step's `challenge`.
#[derive(ToSchema)]
#[schema(example = json!({"purpose": "register", "password": "correct horse battery staple"}))]
pub struct PasskeyOptionsRequest {
    pub purpose: crate::model::PasskeyPurpose,
    /// `register` only.
    pub password: Option<Secret>,
    /// `second_factor` only: from the first step's `second_factor_required` answer.
    pub challenge: Option<String>,
}

/// A new passkey: the ceremony, what `navigator.credentials.create()` gave (as JSON, binary
/// fields in base64url), and a name for it.
#[derive(ToSchema)]
#[schema(example = json!({
    "ceremony": "mN0cmVtb255LXRva2VuLWV4YW1wbGUtMzItYnl0ZXMtbG9uZw",
    "credential": {"id": "…", "rawId": "…", "type": "public-key",
                   "response": {"clientDataJSON": "…", "attestationObject": "…"}},
    "name": "MacBook Touch ID"
}))]
pub struct PasskeyRegisterRequest {
    pub ceremony: String,
    #[schema(value_type = Object)]
    pub credential: Value,
    /// 1 to 64 characters.
    pub name: String,
}

/// A sign-in with a passkey: the ceremony, and what `navigator.credentials.get()` gave.
#[derive(ToSchema)]
#[schema(example = json!({
    "ceremony": "mN0cmVtb255LXRva2VuLWV4YW1wbGUtMzItYnl0ZXMtbG9uZw",
    "credential": {"id": "…", "rawId": "…", "type": "public-key",
                   "response": {"clientDataJSON": "…", "authenticatorData": "…",
                                "signature": "…", "userHandle": "…"}}
}))]
pub struct PasskeyLoginRequest {
    pub ceremony: String,
    #[schema(value_type = Object)]
    pub credential: Value,
    /// `"token"` for a bearer token instead of a session cookie (a `login` ceremony only).
    #[schema(rename = "as")]
    pub as_: Option<String>,
}

/// A new name for a passkey.
#[derive(ToSchema)]
#[schema(example = json!({"passkey_id": "3d6f0c1a-9b7e-4e52-8f4a-1c2d3e4f5a6b", "name": "Work laptop"}))]
pub struct RenamePasskeyRequest {
    pub passkey_id: String,
    /// 1 to 64 characters.
    pub name: String,
}

/// Which passkey to remove, the password, and a current code when the account has an
/// authenticator app or recovery codes.
#[derive(ToSchema)]
#[schema(example = json!({"passkey_id": "3d6f0c1a-9b7e-4e52-8f4a-1c2d3e4f5a6b", "password": "correct horse battery staple"}))]
pub struct DeletePasskeyRequest {
    pub passkey_id: String,
    pub password: Secret,
    pub code: Option<Secret>,
}
