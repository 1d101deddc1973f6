//! Failed password checks, counted per email as typed (lower-cased), whether or not an account
//! has it: a limit only known accounts could hit would tell which emails have accounts. Shared
//! by sign-in and the Basic-Auth endpoints, so neither is a way around the other's limit.

use sqlx::PgConnection;

use super::{config::AuthConfig, rate_limit};

pub struct FailureCounter {
    key: String,
}

impl FailureCounter {
    pub fn for_email(email: &str) -> Self {
        Self {
            key: format!("login:email:{}", email.trim().to_lowercase()),
        }
    }

    /// `Some(seconds)` when this email has used up its failures for now.
    pub async fn blocked_for(
        &self,
        conn: &mut PgConnection,
        auth: &AuthConfig,
    ) -> Result<Option<u64>, sqlx::Error> {
        let decision = rate_limit::peek(
            conn,
            &self.key,
            auth.login_failures_allowed,
            auth.login_failure_window,
        )
        .await?;
        Ok(match decision {
            rate_limit::Decision::Limited { retry_after } => Some(retry_after),
            rate_limit::Decision::Allowed => None,
        })
    }

    pub async fn failed(
        &self,
        conn: &mut PgConnection,
        auth: &AuthConfig,
    ) -> Result<(), sqlx::Error> {
        rate_limit::check(
            conn,
            &self.key,
            auth.login_failures_allowed,
            auth.login_failure_window,
        )
        .await?;
        Ok(())
    }

    /// A success (or a password reset) wipes the earlier failures.
    pub async fn clear(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        rate_limit::reset(conn, &self.key).await
    }
}
