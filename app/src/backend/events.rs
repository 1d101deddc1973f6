//! The security history: what happened to an account, when, from where.

use sqlx::PgConnection;
use uuid::Uuid;

use super::client::ClientInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Registered,
    CodeSent,
    ActivationFailed,
    Activated,
    AccountLocked,
    LoginSucceeded,
    LoginFailed,
    PasswordChanged,
    SessionRevoked,
    EmailChangeRequested,
    EmailChanged,
    PasswordReset,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::CodeSent => "code_sent",
            Self::ActivationFailed => "activation_failed",
            Self::Activated => "activated",
            Self::AccountLocked => "account_locked",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::PasswordChanged => "password_changed",
            Self::SessionRevoked => "session_revoked",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::PasswordReset => "password_reset",
        }
    }
}

pub async fn record(
    conn: &mut PgConnection,
    user_id: Uuid,
    kind: EventKind,
    client: &ClientInfo,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into security_events (user_id, kind, ip, user_agent) values ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}
