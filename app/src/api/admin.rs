//! The administrators' endpoints under `/api/admin/`. Each one starts with
//! `request.administrator()`: 401 `unauthenticated` without a session, 403 `forbidden` for an
//! account without the administrator role. The acts are written to the audit log by the
//! services, with the administrator and their address.

use leptos::prelude::*;

use crate::{
    error::ApiError,
    model::{AuditEntry, CodeSent, Done, OutboxView, Page, UserDetail, UserSummary},
};

/// The users table: `q` (name, email or phone in any format), `status`, `role`, `sort`
/// (`newest`, `oldest`, `name`, `email`), `limit` (1–100, default 20), `offset`.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/admin/users",
    tag = "Administration",
    params(
        ("q" = Option<String>, Query, description = "Words that must all appear in the name or email, or a phone number or part of one", example = "lovelace"),
        ("status" = Option<String>, Query, description = "`pending`, `active`, `locked` or `disabled`", example = "active"),
        ("role" = Option<String>, Query, description = "`user` or `admin`", example = "user"),
        ("sort" = Option<String>, Query, description = "`newest` (default), `oldest`, `name` or `email`", example = "name"),
        ("limit" = Option<String>, Query, description = "1 to 100 (default 20)", example = "20"),
        ("offset" = Option<String>, Query, description = "Rows to skip", example = "0"),
    ),
    responses((status = 200, description = "OK", body = Page<UserSummary>)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/users", input = server_fn::codec::GetUrl)]
pub async fn admin_users(
    #[server(default)] q: Option<String>,
    #[server(default)] status: Option<String>,
    #[server(default)] role: Option<String>,
    #[server(default)] sort: Option<String>,
    #[server(default)] limit: Option<String>,
    #[server(default)] offset: Option<String>,
) -> Result<Page<UserSummary>, ApiError> {
    use crate::{api::extract, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let query = admin::UserQuery {
        q,
        status,
        role,
        sort,
        limit,
        offset,
    };
    admin::list_users(&request.state, &admin, &query).await
}

/// One account: profile, status, sessions and the latest 50 security events.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/admin/user",
    tag = "Administration",
    params(
        ("id" = Option<String>, Query, description = "The account's id", example = "0b8f8a1e-3c0d-4b53-9d7e-2f1f5b6a7c88"),
    ),
    responses((status = 200, description = "OK", body = UserDetail)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/user", input = server_fn::codec::GetUrl)]
pub async fn admin_user(#[server(default)] id: String) -> Result<UserDetail, ApiError> {
    use crate::{api::extract, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    admin::user_detail(&request.state, &admin, &id).await
}

/// Ends every session and token of the account at once; it can no longer sign in.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/disable-user",
    tag = "Administration",
    request_body = crate::model::requests::DisableUserRequest,
    responses((status = 200, description = "OK", body = UserSummary)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/disable-user", input = server_fn::codec::Json)]
pub async fn disable_user(
    #[server(default)] user_id: String,
    #[server(default)] reason: String,
) -> Result<UserSummary, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::disable(&request.state, &actor, &user_id, &reason).await
}

#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/enable-user",
    tag = "Administration",
    request_body = crate::model::requests::UserIdRequest,
    responses((status = 200, description = "OK", body = UserSummary)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/enable-user", input = server_fn::codec::Json)]
pub async fn enable_user(#[server(default)] user_id: String) -> Result<UserSummary, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::enable(&request.state, &actor, &user_id).await
}

/// `role` is `user` or `admin`.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/set-role",
    tag = "Administration",
    request_body = crate::model::requests::SetRoleRequest,
    responses((status = 200, description = "OK", body = UserSummary)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/set-role", input = server_fn::codec::Json)]
pub async fn set_role(
    #[server(default)] user_id: String,
    #[server(default)] role: String,
) -> Result<UserSummary, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::set_role(&request.state, &actor, &user_id, &role).await
}

/// A new activation code for a pending account; its lock after too many wrong codes is lifted.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/resend-activation",
    tag = "Administration",
    request_body = crate::model::requests::UserIdRequest,
    responses((status = 200, description = "OK", body = CodeSent)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/resend-activation", input = server_fn::codec::Json)]
pub async fn resend_activation(#[server(default)] user_id: String) -> Result<CodeSent, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::resend_activation(&request.state, &actor, &user_id).await
}

/// Removes every second factor of a person who lost their devices (authenticator app, recovery
/// codes): the password alone signs in again. Audited; the person is emailed.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/remove-second-factors",
    tag = "Administration",
    request_body = crate::model::requests::UserIdRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/remove-second-factors", input = server_fn::codec::Json)]
pub async fn remove_second_factors(#[server(default)] user_id: String) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::remove_second_factors(&request.state, &actor, &user_id).await?;
    Ok(Done::OK)
}

/// Deletes the account as its owner would: email and phone free, a goodbye email.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/delete-user",
    tag = "Administration",
    request_body = crate::model::requests::UserIdRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/delete-user", input = server_fn::codec::Json)]
pub async fn delete_user(#[server(default)] user_id: String) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::delete_user(&request.state, &actor, &user_id).await?;
    Ok(Done::OK)
}

/// Newest first; `actor` and `target` filter by account id or email.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/admin/audit-log",
    tag = "Administration",
    params(
        ("actor" = Option<String>, Query, description = "An account id or email: acts by it", example = "admin@example.com"),
        ("target" = Option<String>, Query, description = "An account id or email: acts on it", example = "ada@example.com"),
        ("limit" = Option<String>, Query, description = "1 to 100 (default 20)", example = "20"),
        ("offset" = Option<String>, Query, description = "Rows to skip", example = "0"),
    ),
    responses((status = 200, description = "OK", body = Page<AuditEntry>)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/audit-log", input = server_fn::codec::GetUrl)]
pub async fn audit_log(
    #[server(default)] actor: Option<String>,
    #[server(default)] target: Option<String>,
    #[server(default)] limit: Option<String>,
    #[server(default)] offset: Option<String>,
) -> Result<Page<AuditEntry>, ApiError> {
    use crate::{api::extract, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let query = admin::AuditQuery {
        actor,
        target,
        limit,
        offset,
    };
    admin::audit_log(&request.state, &admin, &query).await
}

/// The mail queue: counts by status and the rows, newest first; no bodies, no codes.
#[cfg_attr(feature = "ssr", utoipa::path(
    get,
    path = "/api/admin/outbox",
    tag = "Administration",
    params(
        ("status" = Option<String>, Query, description = "`pending`, `sent`, `expired` or `dead`", example = "dead"),
        ("limit" = Option<String>, Query, description = "1 to 100 (default 20)", example = "20"),
        ("offset" = Option<String>, Query, description = "Rows to skip", example = "0"),
    ),
    responses((status = 200, description = "OK", body = OutboxView)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/outbox", input = server_fn::codec::GetUrl)]
pub async fn outbox(
    #[server(default)] status: Option<String>,
    #[server(default)] limit: Option<String>,
    #[server(default)] offset: Option<String>,
) -> Result<OutboxView, ApiError> {
    use crate::{api::extract, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    admin::outbox(
        &request.state,
        &admin,
        status.as_deref(),
        limit.as_deref(),
        offset.as_deref(),
    )
    .await
}

/// Queues a `dead` email again.
#[cfg_attr(feature = "ssr", utoipa::path(
    post,
    path = "/api/admin/retry-email",
    tag = "Administration",
    request_body = crate::model::requests::RetryEmailRequest,
    responses((status = 200, description = "OK", body = Done)),
    security(("session" = []), ("bearer" = [])),
))]
#[server(endpoint = "admin/retry-email", input = server_fn::codec::Json)]
pub async fn retry_email(#[server(default)] id: Option<i64>) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let id =
        id.ok_or_else(|| ApiError::invalid("id", crate::t!(errors.queued_email_id_required)))?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::retry_email(&request.state, &actor, id).await?;
    Ok(Done::OK)
}
