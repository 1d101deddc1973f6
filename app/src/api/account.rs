//! The signed-in account. Every endpoint takes the session cookie or `Authorization: Bearer`
//! (see [`extract::Request::caller`](crate::api::extract::Request::caller)).

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{AccountExport, CodeSentTo, Done, Profile, Secret, SecurityEvent, SessionInfo},
};

/// One query: the session lookup and the profile together (the hot read path).
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/profile",
    tag = "Account",
    responses((status = 200, description = "OK", body = Profile)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "profile", input = server_fn::codec::GetUrl)]
pub async fn get_profile() -> Result<Profile, ApiError> {
    use crate::{api::extract, infra::sessions::CrossSite, services::account};

    let request = extract::Request::current().await;
    let session = request.session(CrossSite::Refuse)?;
    account::profile_of(&request.state, session)
        .await?
        .ok_or_else(ApiError::unauthenticated)
}

/// Changes any of `first_name`, `last_name`, `phone_number`, `language` (a code, or `null` to
/// follow the browser's `Accept-Language`); any other key is refused. From a browser, the
/// language also goes into its language cookie.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/update-profile",
    tag = "Account",
    request_body = crate::model::requests::ProfileChangesRequest,
    responses((status = 200, description = "OK", body = Profile)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "update-profile", input = server_fn::codec::Json)]
pub async fn update_profile(
    #[server(flatten)] changes: serde_json::Map<String, serde_json::Value>,
) -> Result<Profile, ApiError> {
    use crate::{api::extract, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    let profile = account::update_profile(&request.state, &caller, &changes).await?;
    // A browser follows the language picked here at once, its API calls included.
    if changes.contains_key("language") && caller.kind == crate::model::SessionKind::Cookie {
        let secure = request.state.settings.http.secure_cookies();
        let cookie = crate::language::cookie(profile.language, secure);
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            extract::set_cookie(value);
        }
    }
    Ok(profile)
}

/// Revokes every other session and token; a notice goes to the account's email.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/change-password",
    tag = "Account",
    request_body = crate::model::requests::ChangePasswordRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "change-password", input = server_fn::codec::Json)]
pub async fn change_password(
    #[server(default)] current_password: Secret,
    #[server(default)] new_password: Secret,
) -> Result<Done, ApiError> {
    use crate::{api::extract, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    account::change_password(
        &request.state,
        &request.client,
        &caller,
        &current_password,
        &new_password,
    )
    .await?;
    Ok(Done::OK)
}

#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/sessions",
    tag = "Account",
    responses((status = 200, description = "OK", body = Vec<SessionInfo>)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "sessions", input = server_fn::codec::GetUrl)]
pub async fn sessions() -> Result<Vec<SessionInfo>, ApiError> {
    use crate::{api::extract, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    account::list_sessions(&request.state, &caller).await
}

#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/revoke-session",
    tag = "Account",
    request_body = crate::model::requests::RevokeSessionRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "revoke-session", input = server_fn::codec::Json)]
pub async fn revoke_session(#[server(default)] session_id: String) -> Result<Done, ApiError> {
    use crate::{api::extract, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    account::revoke_session(&request.state, &request.client, &caller, &session_id).await?;
    Ok(Done::OK)
}

/// Newest first.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/security-events",
    tag = "Account",
    params(
        ("limit" = Option<u32>, Query, description = "1 to 200 (default 50)", example = "20"),
        ("offset" = Option<u32>, Query, description = "Rows to skip", example = "0"),
    ),
    responses((status = 200, description = "OK", body = Vec<SecurityEvent>)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "security-events", input = server_fn::codec::GetUrl)]
pub async fn security_events(
    #[server(default)] limit: Option<u32>,
    #[server(default)] offset: Option<u32>,
) -> Result<Vec<SecurityEvent>, ApiError> {
    use crate::{api::extract, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    account::security_events(&request.state, &caller, limit, offset).await
}

/// Sends a code to `new_email` (and a notice to the current address); nothing changes until
/// `confirm-email`.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/change-email",
    tag = "Account",
    request_body = crate::model::requests::ChangeEmailRequest,
    responses((status = 200, description = "OK", body = CodeSentTo)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "change-email", input = server_fn::codec::Json)]
pub async fn change_email(
    #[server(default)] new_email: String,
    #[server(default)] password: Secret,
) -> Result<CodeSentTo, ApiError> {
    use crate::{api::extract, services::email_change};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    email_change::request(
        &request.state,
        &request.client,
        &caller,
        &new_email,
        &password,
    )
    .await
}

#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/confirm-email",
    tag = "Account",
    request_body = crate::model::requests::CodeRequest,
    responses((status = 200, description = "OK", body = Profile)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "confirm-email", input = server_fn::codec::Json)]
pub async fn confirm_email(#[server(default)] code: Secret) -> Result<Profile, ApiError> {
    use crate::{api::extract, services::email_change};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    email_change::confirm(&request.state, &request.client, &caller, code.expose()).await
}

#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/delete-account",
    tag = "Account",
    request_body = crate::model::requests::PasswordRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "delete-account", input = server_fn::codec::Json)]
pub async fn delete_account(#[server(default)] password: Secret) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::sessions, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    account::delete(&request.state, &request.client, &caller, &password).await?;
    extract::set_cookie(sessions::clearing_cookie(&request.state.settings));
    Ok(Done::OK)
}

#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/export-account",
    tag = "Account",
    responses((status = 200, description = "OK", body = AccountExport)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "export-account", input = server_fn::codec::GetUrl)]
pub async fn export_account() -> Result<AccountExport, ApiError> {
    use crate::{api::extract, services::account};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    account::export(&request.state, &caller).await
}
