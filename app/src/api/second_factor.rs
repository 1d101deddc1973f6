//! Second factors: setting up an authenticator app, recovery codes, and the second step of a
//! sign-in (`POST /api/second-factor`, after `/api/login` or `/api/token` answered
//! `second_factor_required`).

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{AuthenticatorSetup, Done, RecoveryCodeSet, SecondStepDone, Secret},
};

/// A new authenticator-app secret for the signed-in person, pending until `totp-enable`
/// confirms a code from the app (a second call replaces a pending one).
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/totp-setup",
    tag = "Two-step sign-in",
    request_body = crate::model::requests::PasswordRequest,
    responses((status = 200, description = "OK", body = AuthenticatorSetup)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "totp-setup", input = server_fn::codec::Json)]
pub async fn totp_setup(
    #[server(default)] password: Secret,
) -> Result<AuthenticatorSetup, ApiError> {
    use crate::{api::extract, services::second_factor};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    extract::no_store();
    second_factor::start_totp(&request.state, &request.client, &caller, &password).await
}

/// Turns two-step sign-in on with a code from the app just set up; answers the ten recovery
/// codes, shown this once.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/totp-enable",
    tag = "Two-step sign-in",
    request_body = crate::model::requests::TotpCodeRequest,
    responses((status = 200, description = "OK", body = RecoveryCodeSet)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "totp-enable", input = server_fn::codec::Json)]
pub async fn totp_enable(#[server(default)] code: Secret) -> Result<RecoveryCodeSet, ApiError> {
    use crate::{api::extract, services::second_factor};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    extract::no_store();
    second_factor::enable_totp(&request.state, &request.client, &caller, &code).await
}

/// Turns the authenticator app (and its recovery codes) off: the password and a current code
/// from the app or a recovery code.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/totp-disable",
    tag = "Two-step sign-in",
    request_body = crate::model::requests::PasswordAndCodeRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "totp-disable", input = server_fn::codec::Json)]
pub async fn totp_disable(
    #[server(default)] password: Secret,
    #[server(default)] code: Secret,
) -> Result<Done, ApiError> {
    use crate::{api::extract, services::second_factor};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    second_factor::disable_totp(&request.state, &request.client, &caller, &password, &code).await?;
    Ok(Done::OK)
}

/// A new set of ten recovery codes; the earlier set stops working. The password and a current
/// code (from the app, or one of the old recovery codes).
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/recovery-codes",
    tag = "Two-step sign-in",
    request_body = crate::model::requests::PasswordAndCodeRequest,
    responses((status = 200, description = "OK", body = RecoveryCodeSet)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "recovery-codes", input = server_fn::codec::Json)]
pub async fn recovery_codes(
    #[server(default)] password: Secret,
    #[server(default)] code: Secret,
) -> Result<RecoveryCodeSet, ApiError> {
    use crate::{api::extract, services::second_factor};

    let request = extract::Request::current().await;
    let caller = request.caller().await?;
    extract::no_store();
    second_factor::renew_recovery_codes(&request.state, &request.client, &caller, &password, &code)
        .await
}

/// The second step of a sign-in: the `challenge` of the first step's `second_factor_required`
/// answer, and a `code` from the authenticator app or a `recovery_code`. Answers what the first
/// step would have: the profile and the session cookie after `/api/login`, a token after
/// `/api/token`.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/second-factor",
    tag = "Sessions",
    request_body = crate::model::requests::SecondFactorRequest,
    responses((status = 200, description = "OK", body = SecondStepDone, headers(("set-cookie" = String, description = "The session cookie, when the first step was `/api/login`")))),
))]
#[server(endpoint = "second-factor", input = server_fn::codec::Json)]
pub async fn second_factor(
    #[server(default)] challenge: String,
    #[server(default)] code: Option<Secret>,
    #[server(default)] recovery_code: Option<Secret>,
) -> Result<SecondStepDone, ApiError> {
    use crate::{api::extract, services::second_factor};

    let request = extract::Request::current().await;
    extract::no_store();
    let Some(code) = code.or(recovery_code) else {
        return Err(ApiError::invalid(
            "code",
            crate::t!(errors.authenticator_code_required),
        ));
    };
    let signed_in =
        second_factor::second_step(&request.state, &request.client, &challenge, &code).await?;
    Ok(finished(&request, signed_in))
}

/// What a sign-in finished after its first step answers: the profile and the session cookie
/// for a browser, the token for a program.
#[cfg(feature = "ssr")]
pub(crate) fn finished(
    request: &crate::api::extract::Request,
    signed_in: crate::services::sign_in::SignedIn,
) -> SecondStepDone {
    use crate::{
        api::extract,
        infra::sessions,
        model::{SessionKind, SignedIn, TokenIssued},
    };
    match signed_in.kind {
        SessionKind::Cookie => {
            extract::set_cookie(sessions::cookie(
                &request.state.settings,
                &signed_in.session.token,
            ));
            extract::remember_language(request, signed_in.profile.language);
            SecondStepDone::Session(SignedIn {
                user: signed_in.profile,
            })
        }
        SessionKind::Bearer => SecondStepDone::Token(TokenIssued {
            token: signed_in.session.token,
            expires_at: signed_in.session.expires_at,
        }),
    }
}
