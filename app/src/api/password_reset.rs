//! `POST /api/request-password-reset` and `POST /api/reset-password`.

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{Done, Secret},
};

/// Always 200, whatever the address: a code goes out only to an activated account, and the
/// work happens after the answer, so its timing says nothing either.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/request-password-reset",
    tag = "Password reset",
    request_body = super::openapi::EmailRequest,
    responses((status = 200, description = "OK", body = Done)),
))]
#[server(endpoint = "request-password-reset", input = server_fn::codec::Json)]
pub async fn request_password_reset(#[server(default)] email: String) -> Result<Done, ApiError> {
    use crate::{api::extract, error::ErrorCode, services::password_reset};

    let request = extract::Request::current().await;
    let email = password_reset::parse_request(&email)?;
    let extract::Request { state, client, .. } = request;
    tokio::spawn(async move {
        if let Err(e) = password_reset::send_code(&state, &client, &email).await {
            if e.error == ErrorCode::Internal {
                tracing::error!(
                    error.cause = e.cause().unwrap_or_default(),
                    "password reset request failed"
                );
            } else {
                tracing::info!(reason = %e.message, "password reset code not sent");
            }
        }
    });
    Ok(Done::OK)
}

/// Every session and token of the account is revoked.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/reset-password",
    tag = "Password reset",
    request_body = super::openapi::ResetPasswordRequest,
    responses((status = 200, description = "OK", body = Done)),
))]
#[server(endpoint = "reset-password", input = server_fn::codec::Json)]
pub async fn reset_password(
    #[server(default)] email: String,
    #[server(default)] code: Secret,
    #[server(default)] new_password: Secret,
) -> Result<Done, ApiError> {
    use crate::{api::extract, services::password_reset};

    let request = extract::Request::current().await;
    password_reset::reset(
        &request.state,
        &request.client,
        &email,
        code.expose(),
        &new_password,
    )
    .await?;
    Ok(Done::OK)
}
