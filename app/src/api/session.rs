//! Signing in and out: `POST /api/login`, `/api/token`, `/api/logout`, and
//! `GET /api/current-user` (what the header shows).

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{Done, Profile, Secret, SignedIn, TokenIssued},
};

/// Signs in with a session cookie (HttpOnly, SameSite=Lax).
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/login",
    tag = "Sessions",
    request_body = crate::model::requests::CredentialsRequest,
    responses((status = 200, description = "OK", body = SignedIn, headers(("set-cookie" = String, description = "The session cookie: HttpOnly, SameSite=Lax, Path=/ (`__Host-session` and Secure over https)")))),
))]
#[server(endpoint = "login", input = server_fn::codec::Json)]
pub async fn login(
    #[server(default)] email: String,
    #[server(default)] password: Secret,
) -> Result<SignedIn, ApiError> {
    use crate::{api::extract, infra::sessions, model::SessionKind, services::sign_in};

    let request = extract::Request::current().await;
    let signed_in = sign_in::sign_in(
        &request.state,
        &request.client,
        &email,
        &password,
        SessionKind::Cookie,
    )
    .await?;
    extract::set_cookie(sessions::cookie(
        &request.state.settings,
        &signed_in.session.token,
    ));
    extract::remember_language(&request, signed_in.profile.language);
    Ok(SignedIn {
        user: signed_in.profile,
    })
}

/// Issues a bearer token for programs; no cookie.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/token",
    tag = "Sessions",
    request_body = crate::model::requests::CredentialsRequest,
    responses((status = 200, description = "OK", body = TokenIssued)),
))]
#[server(endpoint = "token", input = server_fn::codec::Json)]
pub async fn token(
    #[server(default)] email: String,
    #[server(default)] password: Secret,
) -> Result<TokenIssued, ApiError> {
    use crate::{api::extract, model::SessionKind, services::sign_in};

    let request = extract::Request::current().await;
    let signed_in = sign_in::sign_in(
        &request.state,
        &request.client,
        &email,
        &password,
        SessionKind::Bearer,
    )
    .await?;
    Ok(TokenIssued {
        token: signed_in.session.token,
        expires_at: signed_in.session.expires_at,
    })
}

/// Revokes the session or token the request came with.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/logout",
    tag = "Sessions",
    request_body = crate::model::requests::EmptyRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "logout", input = server_fn::codec::Json)]
pub async fn logout() -> Result<Done, ApiError> {
    use crate::{api::extract, infra::sessions, services::sign_in};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    sign_in::sign_out(&request.state, &caller).await?;
    extract::set_cookie(sessions::clearing_cookie(&request.state.settings));
    Ok(Done::OK)
}

/// Who is signed in on this browser, if anyone: what the header shows. Reads only, so a
/// cross-site request simply counts as signed out.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/current-user",
    tag = "Sessions",
    responses((status = 200, description = "OK", body = Option<Profile>)),
    security((), ("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "current-user", input = server_fn::codec::GetUrl)]
pub async fn current_user() -> Result<Option<Profile>, ApiError> {
    use crate::{api::extract, infra::sessions::CrossSite, services::account, state::AppState};

    // The header's resource also runs while the router lists its routes at start-up, outside
    // any request: nobody is signed in there.
    if use_context::<AppState>().is_none() {
        return Ok(None);
    }
    let request = extract::Request::current().await;
    let session = request.session(CrossSite::NavigationOnly)?;
    account::profile_of(&request.state, session).await
}
