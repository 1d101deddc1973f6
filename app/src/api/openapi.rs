//! The OpenAPI 3.1 document of every `/api` endpoint, served at `/api/openapi.json` and
//! browsed at `/docs`. Nothing in it is written by hand as JSON:
//!
//! - each server function carries a `utoipa::path` annotation: method, path, request body or
//!   query, its success answer and who may call it;
//! - the types come from `ToSchema` derives on the shared model, request bodies included
//!   (`model::requests`: a server function's arguments are not a type of their own that could
//!   derive it; a test checks that each body names exactly the function's arguments);
//! - [`ERRORS`] lists the error codes each endpoint can answer, besides those every endpoint of
//!   its kind shares ([`common_errors`]); [`document`] turns them into one response per status,
//!   the shape of [`ApiError`] with `error` narrowed to that status's codes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::{
    OpenApi,
    openapi::{
        ContentBuilder, RefOr, ResponseBuilder,
        path::{HttpMethod, Operation},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::error::{ApiError, ErrorCode};

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
    describe_second_step(components);
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

/// `ApiError` carries `challenge` and `methods` in a boxed field of its own (see its docs),
/// which the derive cannot describe: the two properties, as they appear in the body.
fn describe_second_step(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
    let Some(RefOr::T(Schema::Object(error))) = components.schemas.get_mut("ApiError") else {
        return;
    };
    let challenge = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "`second_factor_required` only: what `POST /api/second-factor` takes back, within 5 minutes.",
        ))
        .build();
    let methods = ArrayBuilder::new()
        .items(<crate::model::SecondFactorMethod as utoipa::PartialSchema>::schema())
        .description(Some(
            "`second_factor_required` only: the ways to finish the sign-in.",
        ))
        .build();
    error
        .properties
        .insert("challenge".into(), challenge.into());
    error.properties.insert("methods".into(), methods.into());
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
                SecondFactorRequired,
                NotActivated,
                AccountDisabled,
                TooManyAttempts,
            ],
        ),
        (
            "/api/second-factor",
            &[InvalidCode, CodeExpired, CodeUsedUp, TooManyAttempts],
        ),
        (
            "/api/totp-setup",
            &[InvalidCredentials, TooManyAttempts, TotpAlreadyEnabled],
        ),
        (
            "/api/totp-enable",
            &[InvalidCode, TotpAlreadyEnabled, TotpNotStarted],
        ),
        (
            "/api/totp-disable",
            &[InvalidCredentials, TooManyAttempts, InvalidCode],
        ),
        (
            "/api/recovery-codes",
            &[InvalidCredentials, TooManyAttempts, NoSecondFactor],
        ),
        (
            "/api/passkey-options",
            &[
                InvalidCredentials,
                TooManyAttempts,
                CodeExpired,
                NoSecondFactor,
                PasskeysUnavailable,
            ],
        ),
        (
            "/api/passkey-register",
            &[InvalidPasskey, CodeExpired, PasskeysUnavailable],
        ),
        (
            "/api/passkey-login",
            &[
                InvalidCredentials,
                CodeExpired,
                AccountDisabled,
                TooManyAttempts,
                PasskeysUnavailable,
            ],
        ),
        ("/api/passkeys", &[]),
        ("/api/rename-passkey", &[NotFound]),
        (
            "/api/delete-passkey",
            &[NotFound, InvalidCredentials, InvalidCode, TooManyAttempts],
        ),
        (
            "/api/token",
            &[
                InvalidCredentials,
                SecondFactorRequired,
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
        ("/api/request-password-reset", &[TooManyAttempts]),
        (
            "/api/reset-password",
            &[InvalidCode, CodeExpired, CodeUsedUp, TooManyAttempts],
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
            "/api/admin/remove-second-factors",
            &[NotFound, CannotModifySelf, NoSecondFactor],
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
        super::second_factor::second_factor,
        super::second_factor::totp_setup,
        super::second_factor::totp_enable,
        super::second_factor::totp_disable,
        super::second_factor::recovery_codes,
        super::passkeys::passkey_options,
        super::passkeys::passkey_register,
        super::passkeys::passkey_login,
        super::passkeys::passkeys,
        super::passkeys::rename_passkey,
        super::passkeys::delete_passkey,
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
        super::admin::remove_second_factors,
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
        (name = "Two-step sign-in", description = "An authenticator app and recovery codes: a second step after the password."),
        (name = "Passkeys", description = "WebAuthn passkeys: a sign-in with no password, or the second step after one. The relying party is `APP_BASE_URL`'s host (`WEBAUTHN_RP_ID` to override); a server addressed by IP has none."),
        (name = "Password reset", description = "A code by email, then a new password."),
        (name = "Catalogue", description = "Products: public reads, administrators' changes."),
        (name = "Orders", description = "The signed-in person's orders."),
        (name = "Administration", description = "Administrators only."),
        (name = "Service", description = "The server itself."),
    ),
)]
struct ApiDoc;

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
