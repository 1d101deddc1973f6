//! The audit log: one row per administrative act, written in the transaction of the act. Rows
//! copy the emails of actor and target, so they outlive both accounts.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{client::ClientInfo, sessions::Administrator};
use crate::{
    error::{ApiError, Context as _},
    model::{ActorKind, AuditAction},
};

/// Who acts, as the audit log records them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    kind: ActorKind,
    user_id: Option<Uuid>,
    ip: Option<String>,
}

impl Actor {
    /// A signed-in administrator, from where they called.
    pub fn administrator(admin: &Administrator, client: &ClientInfo) -> Self {
        Self {
            kind: ActorKind::Administrator,
            user_id: Some(admin.user_id()),
            ip: client.ip_text(),
        }
    }

    /// An operator running the `server` binary's subcommands on a host: whoever can reach the
    /// database with its credentials is trusted as much as that.
    pub fn command_line() -> Self {
        Self {
            kind: ActorKind::CommandLine,
            user_id: None,
            ip: None,
        }
    }

    /// The actor's own account, if it is one.
    pub fn user_id(&self) -> Option<Uuid> {
        self.user_id
    }
}

/// Records `action` on `target` by `actor`; call it before deleting the target, so its email
/// is still there to copy.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: AuditAction,
    target: Option<Uuid>,
    details: Value,
) -> Result<(), ApiError> {
    sqlx::query(
        "insert into audit_log
             (actor_kind, actor_id, actor_email, action, target_id, target_email, ip, details)
         values ($1, $2, (select email from users where id = $2), $3, $4,
                 (select email from users where id = $4), $5, $6)",
    )
    .bind(actor.kind)
    .bind(actor.user_id)
    .bind(action)
    .bind(target)
    .bind(actor.ip.as_deref())
    .bind(sqlx::types::Json(details))
    .execute(conn)
    .await
    .context("write the audit log")?;
    Ok(())
}
