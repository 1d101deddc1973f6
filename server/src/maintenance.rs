//! Housekeeping every server runs once a minute; each statement is idempotent, so replicas
//! running it at the same time do no harm.

use std::time::Duration;

use sqlx::PgPool;

const INTERVAL: Duration = Duration::from_secs(60);

/// Removes what is past its use: pending registrations older than 24 hours, expired sessions
/// and one-time codes, spent rate-limit rows, idempotency keys older than 25 hours, and outbox rows finished more than a week ago.
pub async fn sweep(pool: &PgPool) -> Result<(), sqlx::Error> {
    let purged = sqlx::query(
        "delete from users
         where status in ('pending', 'locked') and created_at < now() - interval '24 hours'",
    )
    .execute(pool)
    .await?
    .rows_affected();
    if purged > 0 {
        tracing::info!(purged, "purged pending registrations older than 24 hours");
    }
    sqlx::query("delete from sessions where expires_at < now()")
        .execute(pool)
        .await?;
    sqlx::query("delete from one_time_codes where expires_at < now() - interval '1 hour'")
        .execute(pool)
        .await?;
    sqlx::query("delete from rate_limits where tat < now()")
        .execute(pool)
        .await?;
    // Kept at least 24 hours, as the API promises.
    sqlx::query("delete from idempotency_keys where created_at < now() - interval '25 hours'")
        .execute(pool)
        .await?;
    sqlx::query(
        "delete from email_outbox
         where status <> 'pending' and created_at < now() - interval '7 days'",
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn run(pool: PgPool) {
    let mut ticker = tokio::time::interval(INTERVAL);
    loop {
        ticker.tick().await;
        if let Err(e) = sweep(&pool).await {
            tracing::warn!(error.cause = %e, "housekeeping failed; will try again");
        }
    }
}
