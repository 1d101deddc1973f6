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
#[server(endpoint = "admin/user", input = server_fn::codec::GetUrl)]
pub async fn admin_user(#[server(default)] id: String) -> Result<UserDetail, ApiError> {
    use crate::{api::extract, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    admin::user_detail(&request.state, &admin, &id).await
}

/// Ends every session and token of the account at once; it can no longer sign in.
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

#[server(endpoint = "admin/enable-user", input = server_fn::codec::Json)]
pub async fn enable_user(#[server(default)] user_id: String) -> Result<UserSummary, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::enable(&request.state, &actor, &user_id).await
}

/// `role` is `user` or `admin`.
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
#[server(endpoint = "admin/resend-activation", input = server_fn::codec::Json)]
pub async fn resend_activation(#[server(default)] user_id: String) -> Result<CodeSent, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::resend_activation(&request.state, &actor, &user_id).await
}

/// Deletes the account as its owner would: email and phone free, a goodbye email.
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
#[server(endpoint = "admin/retry-email", input = server_fn::codec::Json)]
pub async fn retry_email(#[server(default)] id: Option<i64>) -> Result<Done, ApiError> {
    use crate::{api::extract, infra::audit::Actor, services::admin};

    let request = extract::Request::current().await;
    let admin = request.administrator().await?;
    let id = id.ok_or_else(|| ApiError::invalid("id", "Give the id of a queued email."))?;
    let actor = Actor::administrator(&admin, &request.client);
    admin::retry_email(&request.state, &actor, id).await?;
    Ok(Done::OK)
}
