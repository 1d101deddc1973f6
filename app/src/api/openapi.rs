//! The OpenAPI 3.1 document of every `/api` endpoint, served at `/api/openapi.json` and
//! browsed at `/docs`. Nothing in it is written by hand as JSON:
//!
//! - each server function carries a `utoipa::path` annotation: method, path, request body or
//!   query, its success answer and who may call it;
//! - the types come from `ToSchema` derives on the shared model, and from the request bodies
//!   below (a server function's arguments are not a type of their own that could derive it; a
//!   test checks that each body names exactly the function's arguments);
//! - [`ERRORS`] lists the error codes each endpoint can answer, besides those every endpoint of
//!   its kind shares ([`common_errors`]); [`document`] turns them into one response per status,
//!   the shape of [`ApiError`] with `error` narrowed to that status's codes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::{
    OpenApi, ToSchema,
    openapi::{
        ContentBuilder, RefOr, ResponseBuilder,
        path::{HttpMethod, Operation},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    error::{ApiError, ErrorCode},
    model::{OrderLineInput, Secret},
};

/// The document, for a server whose session cookie is `cookie_name` (`__Host-session` over
/// https, `session` otherwise).
pub fn document(cookie_name: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie_name,
            "The session cookie `POST /api/login` sets. Sent by a browser on the same site only.",
        ))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "`Authorization: Bearer <token>`, a token from `POST /api/token`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some("The email address and password of the registration."))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
        ] {
            if let Some(operation) = operation {
                add_errors(path, &method, operation);
            }
        }
    }
    doc
}

/// The codes an endpoint answers besides its success and [`common_errors`].
pub const ERRORS: &[(&str, &[ErrorCode])] = {
    use ErrorCode::*;
    &[
        ("/api/register", &[EmailTaken, PhoneTaken, TooManyRequests]),
        (
            "/api/activate",
            &[
                InvalidCredentials,
                InvalidCode,
                CodeExpired,
                CodeUsedUp,
                TooManyAttempts,
                AlreadyActive,
                AccountLocked,
                AccountDisabled,
            ],
        ),
        (
            "/api/resend-code",
            &[
                InvalidCredentials,
                AlreadyActive,
                AccountLocked,
                AccountDisabled,
                ResendTooSoon,
                TooManyAttempts,
            ],
        ),
        (
            "/api/login",
            &[
                InvalidCredentials,
                NotActivated,
                AccountDisabled,
                TooManyAttempts,
            ],
        ),
        (
            "/api/token",
            &[
                InvalidCredentials,
                NotActivated,
                AccountDisabled,
                TooManyAttempts,
            ],
        ),
        ("/api/logout", &[]),
        ("/api/current-user", &[]),
        ("/api/profile", &[]),
        ("/api/update-profile", &[PhoneTaken]),
        (
            "/api/change-password",
            &[InvalidCredentials, TooManyAttempts],
        ),
        ("/api/sessions", &[]),
        ("/api/revoke-session", &[NotFound]),
        ("/api/security-events", &[]),
        (
            "/api/change-email",
            &[
                InvalidCredentials,
                TooManyAttempts,
                EmailTaken,
                ResendTooSoon,
            ],
        ),
        (
            "/api/confirm-email",
            &[InvalidCode, CodeExpired, CodeUsedUp, EmailTaken],
        ),
        (
            "/api/delete-account",
            &[InvalidCredentials, TooManyAttempts, LastAdmin],
        ),
        ("/api/export-account", &[]),
        ("/api/request-password-reset", &[]),
        (
            "/api/reset-password",
            &[InvalidCode, CodeExpired, CodeUsedUp],
        ),
        ("/api/status", &[]),
        ("/api/settings", &[]),
        ("/api/openapi.json", &[]),
        ("/api/admin/users", &[]),
        ("/api/admin/user", &[NotFound]),
        (
            "/api/admin/disable-user",
            &[NotFound, CannotModifySelf, AlreadyDisabled],
        ),
        (
            "/api/admin/enable-user",
            &[NotFound, CannotModifySelf, NotDisabled],
        ),
        (
            "/api/admin/set-role",
            &[NotFound, CannotModifySelf, LastAdmin],
        ),
        (
            "/api/admin/resend-activation",
            &[NotFound, CannotModifySelf, AlreadyActive, AccountDisabled],
        ),
        (
            "/api/admin/delete-user",
            &[NotFound, CannotModifySelf, LastAdmin],
        ),
        ("/api/admin/audit-log", &[]),
        ("/api/admin/outbox", &[]),
        ("/api/admin/webhooks", &[]),
        ("/api/admin/retry-email", &[NotFound, NotDead, NotRetryable]),
        ("/api/products", &[]),
        ("/api/product", &[NotFound]),
        ("/api/create-product", &[NameTaken]),
        (
            "/api/update-product",
            &[NotFound, VersionConflict, NameTaken],
        ),
        ("/api/delete-product", &[NotFound]),
        (
            "/api/place-order",
            &[ProductNotFound, InsufficientStock, IdempotencyKeyReused],
        ),
        ("/api/orders", &[]),
        ("/api/order", &[NotFound]),
        ("/api/cancel-order", &[NotFound, AlreadyCancelled]),
    ]
};

/// What every endpoint of a kind can answer: `invalid` (422: a query or body that does not
/// parse, even where none is expected), a dependency down or the server overloaded (503), a
/// failure of its own (500); `payload_too_large` (413) where there is a body; `unauthenticated` (401) and `forbidden` (403, a cookie from
/// another site or a caller who is not an administrator) where a session is needed.
pub fn common_errors(method: &HttpMethod, operation: &Operation) -> Vec<ErrorCode> {
    let mut codes = vec![
        ErrorCode::Invalid,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];
    if *method == HttpMethod::Post {
        codes.push(ErrorCode::PayloadTooLarge);
    }
    let needs_session = operation.security.as_ref().is_some_and(|requirements| {
        let text = serde_json::to_string(requirements).unwrap_or_default();
        // An empty requirement (`{}`) makes the session optional.
        text.contains("\"session\"") && !text.contains("{}")
    });
    if needs_session {
        codes.extend([ErrorCode::Unauthenticated, ErrorCode::Forbidden]);
    }
    codes
}

fn add_errors(path: &str, method: &HttpMethod, operation: &mut Operation) {
    let own = ERRORS
        .iter()
        .find(|(documented, _)| *documented == path)
        .map(|(_, codes)| *codes)
        .unwrap_or_default();
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in common_errors(method, operation)
        .into_iter()
        .chain(own.iter().copied())
    {
        let codes = by_status.entry(code.status().as_u16()).or_default();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    for (status, codes) in by_status {
        let names: Vec<Value> = codes.iter().map(|code| json!(code)).collect();
        let listed = names
            .iter()
            .filter_map(Value::as_str)
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let schema: Value = json!({
            "allOf": [
                {"$ref": "#/components/schemas/ApiError"},
                {"type": "object", "properties": {"error": {"type": "string", "enum": names}}},
            ],
        });
        let example = serde_json::to_value(ApiError::new(codes[0], "A sentence for people."))
            .unwrap_or_default();
        let response = ResponseBuilder::new()
            .description(listed)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(serde_json::from_value::<RefOr<utoipa::openapi::Schema>>(schema).ok())
                    .example(Some(example))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(status.to_string(), RefOr::T(response));
    }
}

/// `GET /api/openapi.json`: this document. The route is Swagger UI's (`server::startup`);
/// this item only carries its description.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "Service",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub fn openapi_json() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Accounts",
        description = "Registration with an emailed code, sign-in, the signed-in account, \
                       administration, a product catalogue and orders. Every answer is JSON; \
                       every refusal is `{\"error\": \"<code>\", \"message\", \"field\"?}` with \
                       the status its code implies.",
    ),
    paths(
        super::registration::register,
        super::registration::activate,
        super::registration::resend_code,
        super::session::login,
        super::session::token,
        super::session::logout,
        super::session::current_user,
        super::account::get_profile,
        super::account::update_profile,
        super::account::change_password,
        super::account::sessions,
        super::account::revoke_session,
        super::account::security_events,
        super::account::change_email,
        super::account::confirm_email,
        super::account::delete_account,
        super::account::export_account,
        super::password_reset::request_password_reset,
        super::password_reset::reset_password,
        super::status::service_status,
        super::status::get_settings,
        openapi_json,
        super::admin::admin_users,
        super::admin::admin_user,
        super::admin::disable_user,
        super::admin::enable_user,
        super::admin::set_role,
        super::admin::resend_activation,
        super::admin::delete_user,
        super::admin::audit_log,
        super::admin::outbox,
        super::admin::retry_email,
        super::webhooks::admin_webhooks,
        super::catalog::products,
        super::catalog::get_product,
        super::catalog::create_product,
        super::catalog::update_product,
        super::catalog::delete_product,
        super::orders::place_order,
        super::orders::orders,
        super::orders::get_order,
        super::orders::cancel_order,
    ),
    components(schemas(ApiError, ErrorCode)),
    tags(
        (name = "Registration", description = "Register, then activate with the emailed code within its lifetime."),
        (name = "Sessions", description = "Sign in with a cookie (browsers) or a bearer token (programs)."),
        (name = "Account", description = "The signed-in person's own account."),
        (name = "Password reset", description = "A code by email, then a new password."),
        (name = "Catalogue", description = "Products: public reads, administrators' changes."),
        (name = "Orders", description = "The signed-in person's orders."),
        (name = "Administration", description = "Administrators only."),
        (name = "Service", description = "The server itself."),
    ),
)]
struct ApiDoc;

// ---------------------------------------------------------------------------------------------
// Request bodies: one per shape, named for what it carries.
// ---------------------------------------------------------------------------------------------

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
    /// 12 to 128 characters, not a common password, not containing the email's name.
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_documented_path_has_one_entry_in_the_errors_table_and_no_other() {
        let doc = ApiDoc::openapi();
        let documented: BTreeSet<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        let listed: Vec<&str> = ERRORS.iter().map(|(path, _)| *path).collect();
        let unique: BTreeSet<&str> = listed.iter().copied().collect();
        assert_eq!(unique.len(), listed.len(), "a path listed twice");
        assert_eq!(documented, unique);
    }

    #[test]
    fn each_error_status_lists_its_codes_and_no_other() {
        let doc = serde_json::to_value(document("session")).expect("JSON");
        let responses = &doc["paths"]["/api/place-order"]["post"]["responses"];
        let codes = |status: &str| {
            responses[status]["content"]["application/json"]["schema"]["allOf"][1]["properties"]
                ["error"]["enum"]
                .clone()
        };
        assert_eq!(codes("409"), json!(["insufficient_stock"]));
        assert_eq!(codes("404"), json!(["product_not_found"]));
        assert_eq!(codes("422"), json!(["invalid", "idempotency_key_reused"]));
        assert_eq!(codes("401"), json!(["unauthenticated"]));
        assert_eq!(codes("413"), json!(["payload_too_large"]));
        assert!(responses.get("400").is_none());
        // Anonymous endpoints answer no 401 of the session kind.
        let register = &doc["paths"]["/api/register"]["post"]["responses"];
        assert!(register.get("401").is_none());
        assert!(register.get("409").is_some());
    }
}
