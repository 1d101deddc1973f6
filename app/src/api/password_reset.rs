//! `POST /api/request-password-reset` and `POST /api/reset-password`.

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{Done, Secret},
};

/// Always 200 with the same body, whatever the address: the request is queued and the reset
/// worker issues the code and sends it (to an activated account only) at its own pace. 429 when
/// the client's network has asked too often.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/request-password-reset",
    tag = "Password reset",
    request_body = crate::model::requests::EmailRequest,
    responses((status = 200, description = "OK", body = Done)),
))]
#[server(endpoint = "request-password-reset", input = server_fn::codec::Json)]
pub async fn request_password_reset(#[server(default)] email: String) -> Result<Done, ApiError> {
    use crate::{api::extract, services::password_reset};

    let request = extract::Request::current().await;
    password_reset::request(&request.state, &request.client, &email).await?;
    Ok(Done::OK)
}

/// Every session and token of the account is revoked.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/reset-password",
    tag = "Password reset",
    request_body = crate::model::requests::ResetPasswordRequest,
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
