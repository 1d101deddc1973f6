//! `POST /api/register`, `POST /api/activate`, `POST /api/resend-code`.

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{Activated, CodeSent, Registered, Secret},
};

/// A missing field reads as empty and gets the same `invalid` error, with its name, as an
/// empty one.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/register",
    tag = "Registration",
    request_body = crate::model::requests::RegisterRequest,
    responses((status = 201, description = "Created", body = Registered)),
))]
#[server(endpoint = "register", input = server_fn::codec::Json)]
pub async fn register(
    #[server(default)] first_name: String,
    #[server(default)] last_name: String,
    #[server(default)] email: String,
    #[server(default)] phone_number: String,
    #[server(default)] password: Secret,
) -> Result<Registered, ApiError> {
    use crate::{api::extract, services::registration};

    let request = extract::Request::current().await;
    let form = registration::Form {
        first_name,
        last_name,
        email,
        phone_number,
        password,
    };
    let registered = registration::register(&request.state, &request.client, form).await?;
    extract::set_status(http::StatusCode::CREATED);
    Ok(registered)
}

/// Authenticated with `Authorization: Basic base64(email:password)`.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/activate",
    tag = "Registration",
    request_body = crate::model::requests::CodeRequest,
    responses((status = 200, description = "OK", body = Activated)),
    security(("basic" = [])),
))]
#[server(endpoint = "activate", input = server_fn::codec::Json)]
pub async fn activate(#[server(default)] code: Secret) -> Result<Activated, ApiError> {
    use crate::{api::extract, services::registration};

    let request = extract::Request::current().await;
    extract::with_basic_challenge(
        async {
            let credentials = request.basic_credentials()?;
            registration::activate(
                &request.state,
                &request.client,
                &credentials.email,
                &credentials.password,
                code.expose(),
            )
            .await
        }
        .await,
    )
}

/// Authenticated with `Authorization: Basic base64(email:password)`.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/resend-code",
    tag = "Registration",
    request_body = crate::model::requests::EmptyRequest,
    responses((status = 200, description = "OK", body = CodeSent)),
    security(("basic" = [])),
))]
#[server(endpoint = "resend-code", input = server_fn::codec::Json)]
pub async fn resend_code() -> Result<CodeSent, ApiError> {
    use crate::{api::extract, services::registration};

    let request = extract::Request::current().await;
    extract::with_basic_challenge(
        async {
            let credentials = request.basic_credentials()?;
            registration::resend_code(
                &request.state,
                &request.client,
                &credentials.email,
                &credentials.password,
            )
            .await
        }
        .await,
    )
}
