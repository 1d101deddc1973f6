//! Housekeeping every server runs once a minute; each statement is idempotent, so replicas
//! running it at the same time do no harm.

use std::time::Duration;

use app::infra::webhooks::{self, Deletion, Event};
use sqlx::PgPool;
use uuid::Uuid;

use crate::settings::WebhookSettings;

const INTERVAL: Duration = Duration::from_secs(60);

/// Removes what is past its use: pending registrations older than 24 hours, expired sessions
/// and one-time codes, spent rate-limit rows, idempotency keys older than 25 hours, and outbox
/// rows and webhook events finished more than a week ago. A purged registration is published
/// as `user.deleted` (reason `expired`): its `user.registered` went out.
pub async fn sweep(pool: &PgPool, webhooks: &WebhookSettings) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let purged_ids: Vec<Uuid> = sqlx::query_scalar(
        "delete from users
         where status in ('pending', 'locked') and created_at < now() - interval '24 hours'
         returning id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let events: Vec<Event> = purged_ids
        .iter()
        .map(|&id| Event::user_deleted(id, Deletion::Expired))
        .collect();
    webhooks::publish_all(&mut tx, webhooks, &events).await?;
    tx.commit().await?;
    let purged = purged_ids.len();
    if purged > 0 {
        tracing::info!(purged, "purged pending registrations older than 24 hours");
    }
    sqlx::query("delete from sessions where expires_at < now()")
        .execute(pool)
        .await?;
    sqlx::query("delete from one_time_codes where expires_at < now() - interval '1 hour'")
        .execute(pool)
        .await?;
    sqlx::query("delete from sign_in_challenges where expires_at < now()")
        .execute(pool)
        .await?;
    sqlx::query("delete from webauthn_ceremonies where expires_at < now()")
        .execute(pool)
        .await?;
    // A setup never confirmed with a code.
    sqlx::query(
        "delete from totp_factors where enabled_at is null and created_at < now() - interval '1 day'",
    )
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
    // Deliveries go with their event.
    sqlx::query(
        "delete from webhook_events e
         where created_at < now() - interval '7 days'
           and not exists (select 1 from webhook_deliveries d
                           where d.event_id = e.id and d.status = 'pending')",
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn run(pool: PgPool, webhooks: WebhookSettings) {
    let mut ticker = tokio::time::interval(INTERVAL);
    loop {
        ticker.tick().await;
        if let Err(e) = sweep(&pool, &webhooks).await {
            tracing::warn!(error.cause = %e, "housekeeping failed; will try again");
        }
    }
}
