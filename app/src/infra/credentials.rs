//! The one check of an email and password, used by sign-in, token, activation and resend: the
//! same limits, history entries and error codes everywhere, so no endpoint is a way around
//! another's limits.
//!
//! Wrong passwords are counted per email as typed (lower-cased), whether or not an account has
//! it: a limit only known accounts could hit would tell which emails have accounts. Unknown
//! emails cost a dummy hash, so both failures look and take the same.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    client::ClientInfo,
    config::Settings,
    events,
    metrics::{self, LimitKind},
    rate_limit,
};
use crate::{
    error::{ApiError, Context as _},
    model::{AccountStatus, EventKind, Secret},
    state::AppState,
};

/// Failed password checks for one email.
pub struct FailureCounter {
    key: String,
}

impl FailureCounter {
    pub fn for_email(email: &str) -> Self {
        Self {
            key: format!("login:email:{}", super::codes::text_key(email)),
        }
    }

    /// `Some(seconds)` when this email has used up its failures for now.
    pub async fn blocked_for(
        &self,
        conn: &mut PgConnection,
        settings: &Settings,
    ) -> Result<Option<u64>, ApiError> {
        let decision = rate_limit::peek(
            conn,
            &self.key,
            settings.limits.login_failures_allowed,
            settings.limits.login_failure_window,
        )
        .await
        .context("peek at failed passwords")?;
        Ok(match decision {
            rate_limit::Decision::Limited { retry_after } => Some(retry_after),
            rate_limit::Decision::Allowed => None,
        })
    }

    /// Counts one failure (a wrong password, or a wrong second-step code).
    pub async fn failed(
        &self,
        conn: &mut PgConnection,
        settings: &Settings,
    ) -> Result<(), ApiError> {
        rate_limit::check(
            conn,
            &self.key,
            settings.limits.login_failures_allowed,
            settings.limits.login_failure_window,
        )
        .await
        .context("count a failed password")?;
        Ok(())
    }

    /// A success (or a password reset) wipes the earlier failures.
    pub async fn clear(&self, conn: &mut PgConnection) -> Result<(), ApiError> {
        rate_limit::reset(conn, &self.key)
            .await
            .context("clear failed passwords")
    }
}

/// An account whose password just checked out.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Verified {
    #[sqlx(rename = "id")]
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub status: AccountStatus,
    /// A sign-in needs a second step: the password alone clears no failures.
    pub second_factor: bool,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    #[sqlx(flatten)]
    account: Verified,
    password_hash: String,
}

/// Counts one password check (or second-step code) from the client's address:
/// `RATE_LIMIT_LOGIN_PER_IP` a minute.
pub async fn limit_network(
    conn: &mut PgConnection,
    settings: &Settings,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let per_ip = settings.limits.login_per_ip_per_minute;
    if per_ip > 0
        && let Some(ip) = client.ip
        && let rate_limit::Decision::Limited { retry_after } = rate_limit::check(
            conn,
            &format!("login:ip:{ip}"),
            per_ip,
            Duration::from_secs(60),
        )
        .await
        .context("count password checks from this address")?
    {
        tracing::warn!(client.ip = %ip, "password checks from this address limited");
        metrics::rate_limited(LimitKind::SignInPerIp);
        return Err(ApiError::too_many_attempts(retry_after));
    }
    Ok(())
}

/// Checks `email` and `password`: the per-IP and per-email limits first, then the hash, then
/// records the outcome. The account's status is the caller's business (sign-in wants it
/// active, activation pending).
#[tracing::instrument(name = "credentials.verify", skip_all, fields(user.id))]
pub async fn verify(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &Secret,
) -> Result<Verified, ApiError> {
    let crate::state::AppStateParts {
        pool,
        hasher,
        settings,
        ..
    } = &**state;
    let failures = FailureCounter::for_email(email);
    // The connection goes back to the pool before the hash: waiting for a hashing slot must
    // never hold one (a burst of sign-ins would starve everything else).
    let candidate = {
        let mut conn = pool.acquire().await.context("acquire a connection")?;
        limit_network(&mut conn, settings, client).await?;
        if let Some(retry_after) = failures.blocked_for(&mut conn, settings).await? {
            metrics::rate_limited(LimitKind::SignInPerEmail);
            return Err(ApiError::too_many_attempts(retry_after));
        }
        static FIND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "select u.id, u.email, u.first_name, u.status, u.password_hash,
                        {} as second_factor
                 from users u where lower(u.email) = lower($1)",
                super::second_factor::HAS_SECOND_FACTOR
            )
        });
        sqlx::query_as::<_, Candidate>(&FIND)
            .bind(super::codes::storable(email))
            .fetch_optional(&mut *conn)
            .await
            .context("find the account")?
    };
    let stored = candidate.as_ref().map(|c| c.password_hash.as_str());
    let matches = hasher.verify(password.expose(), stored).await?;
    let mut conn = pool.acquire().await.context("acquire a connection")?;
    match candidate {
        Some(Candidate { account, .. }) if matches => {
            tracing::Span::current().record("user.id", tracing::field::display(account.user_id));
            // With a second factor, only a finished second step wipes the failures: a known
            // password must not reset the count of wrong codes guessed after it.
            if !account.second_factor {
                failures.clear(&mut conn).await?;
            }
            Ok(account)
        }
        other => {
            failures.failed(&mut conn, settings).await?;
            if let Some(known) = other {
                let user_id = known.account.user_id;
                events::record(&mut conn, user_id, EventKind::LoginFailed, client).await?;
            }
            Err(ApiError::invalid_credentials())
        }
    }
}
