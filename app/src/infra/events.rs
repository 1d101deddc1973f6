//! The security history: what happened to an account, when, from where.

use sqlx::PgConnection;
use uuid::Uuid;

use super::client::ClientInfo;
use crate::{error::ApiError, error::Context as _, model::EventKind};

pub async fn record(
    conn: &mut PgConnection,
    user_id: Uuid,
    kind: EventKind,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    sqlx::query(
        "insert into security_events (user_id, kind, ip, user_agent) values ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .execute(conn)
    .await
    .context("record a security event")?;
    Ok(())
}

/// Records what an administrator did to the account. The administrator's address is not the
/// person's business: the row carries no IP or user agent.
pub async fn record_by_admin(
    conn: &mut PgConnection,
    user_id: Uuid,
    kind: EventKind,
) -> Result<(), ApiError> {
    record(conn, user_id, kind, &ClientInfo::default()).await
}
