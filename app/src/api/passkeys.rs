//! Passkeys (WebAuthn): a ceremony begins with `POST /api/passkey-options` and ends with
//! `POST /api/passkey-register` (adding one) or `POST /api/passkey-login` (signing in with one
//! alone, or the second step of a password sign-in); the signed-in person lists, renames and
//! removes theirs.

use leptos::prelude::*;
use serde_json::value::RawValue;

use crate::{
    error::ApiError,
    model::{Done, PasskeyCeremony, PasskeyInfo, PasskeyPurpose, SecondStepDone, Secret},
};

/// Begins a WebAuthn ceremony. `register`: adding a passkey to the signed-in account (with the
/// `password`); `login`: signing in with a passkey alone (no email); `second_factor`: the second
/// step of the sign-in whose `challenge` the first step answered. Pass `options` to
/// `navigator.credentials.create()` (`register`) or `.get()`, and the result back with
/// `ceremony` within 5 minutes.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/passkey-options",
    tag = "Passkeys",
    request_body = crate::model::requests::PasskeyOptionsRequest,
    responses((status = 200, description = "OK", body = PasskeyCeremony)),
    security((), ("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "passkey-options", input = server_fn::codec::Json)]
pub async fn passkey_options(
    #[server(default)] purpose: Option<PasskeyPurpose>,
    #[server(default)] password: Option<Secret>,
    #[server(default)] challenge: Option<String>,
) -> Result<PasskeyCeremony, ApiError> {
    use crate::{api::extract, services::passkeys};

    let request = extract::Request::current().await;
    extract::no_store();
    let Some(purpose) = purpose else {
        return Err(ApiError::invalid(
            "purpose",
            crate::t!(errors.passkey_purpose_required),
        ));
    };
    let caller = match purpose {
        PasskeyPurpose::Register => Some(request.caller().await?),
        PasskeyPurpose::Login | PasskeyPurpose::SecondFactor => None,
    };
    passkeys::options(
        &request.state,
        &request.client,
        caller.as_ref(),
        purpose,
        password.as_ref(),
        challenge.as_deref(),
    )
    .await
}

/// Finishes adding a passkey: the `credential` `navigator.credentials.create()` gave, as JSON
/// (binary fields in base64url), and a `name` for it.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/passkey-register",
    tag = "Passkeys",
    request_body = crate::model::requests::PasskeyRegisterRequest,
    responses((status = 201, description = "Added", body = PasskeyInfo)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "passkey-register", input = server_fn::codec::Json)]
pub async fn passkey_register(
    #[server(default)] ceremony: String,
    #[server(default)] credential: Option<Box<RawValue>>,
    #[server(default)] name: String,
) -> Result<PasskeyInfo, ApiError> {
    use crate::{api::extract, services::passkeys};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    let added = passkeys::register(
        &request.state,
        &request.client,
        &caller,
        &ceremony,
        credential.as_deref().map_or("", RawValue::get),
        &name,
    )
    .await?;
    extract::set_status(http::StatusCode::CREATED);
    Ok(added)
}

/// Signs in with a passkey: the `credential` `navigator.credentials.get()` gave for a `login`
/// or `second_factor` ceremony. Answers what `/api/login` would (the profile and a session
/// cookie) or, with `"as": "token"` on a `login` ceremony, what `/api/token` would; a
/// `second_factor` ceremony answers what its first step asked for.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/passkey-login",
    tag = "Passkeys",
    request_body = crate::model::requests::PasskeyLoginRequest,
    responses((status = 200, description = "OK", body = SecondStepDone, headers(("set-cookie" = String, description = "The session cookie, unless a token was asked for")))),
))]
#[server(endpoint = "passkey-login", input = server_fn::codec::Json)]
pub async fn passkey_login(
    #[server(default)] ceremony: String,
    #[server(default)] credential: Option<Box<RawValue>>,
    #[server(default)] r#as: Option<String>,
) -> Result<SecondStepDone, ApiError> {
    use crate::{api::extract, model::SessionKind, services::passkeys};

    let request = extract::Request::current().await;
    extract::no_store();
    let kind = match r#as.as_deref() {
        None | Some("session") => SessionKind::Cookie,
        Some("token") => SessionKind::Bearer,
        Some(_) => {
            return Err(ApiError::invalid("as", crate::t!(errors.passkey_as_token)));
        }
    };
    let signed_in = passkeys::sign_in(
        &request.state,
        &request.client,
        &ceremony,
        credential.as_deref().map_or("", RawValue::get),
        kind,
    )
    .await?;
    Ok(crate::api::second_factor::finished(&request, signed_in))
}

/// The signed-in person's passkeys, oldest first.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/passkeys",
    tag = "Passkeys",
    responses((status = 200, description = "OK", body = Vec<PasskeyInfo>)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "passkeys", input = server_fn::codec::GetUrl)]
pub async fn passkeys() -> Result<Vec<PasskeyInfo>, ApiError> {
    use crate::{api::extract, services::passkeys};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    passkeys::list(&request.state, &caller).await
}

/// Renames one of the signed-in person's passkeys.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/rename-passkey",
    tag = "Passkeys",
    request_body = crate::model::requests::RenamePasskeyRequest,
    responses((status = 200, description = "OK", body = PasskeyInfo)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "rename-passkey", input = server_fn::codec::Json)]
pub async fn rename_passkey(
    #[server(default)] passkey_id: String,
    #[server(default)] name: String,
) -> Result<PasskeyInfo, ApiError> {
    use crate::{api::extract, services::passkeys};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    passkeys::rename(&request.state, &caller, &passkey_id, &name).await
}

/// Removes one of the signed-in person's passkeys: the password, and a current `code` (from the
/// authenticator app, or a recovery code) when the account has either.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/delete-passkey",
    tag = "Passkeys",
    request_body = crate::model::requests::DeletePasskeyRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "delete-passkey", input = server_fn::codec::Json)]
pub async fn delete_passkey(
    #[server(default)] passkey_id: String,
    #[server(default)] password: Secret,
    #[server(default)] code: Option<Secret>,
) -> Result<Done, ApiError> {
    use crate::{api::extract, services::passkeys};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    passkeys::remove(
        &request.state,
        &request.client,
        &caller,
        &passkey_id,
        &password,
        code.as_ref(),
    )
    .await?;
    Ok(Done::OK)
}
