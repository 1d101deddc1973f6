//! Probes for load balancers and orchestrators.

use std::time::Duration;

use app::state::{AppState, DATABASE_PROBE_TIMEOUT, check_database};
use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::{Map, Value, json};
use sqlx::{PgPool, postgres::PgRow};

/// `GET /healthz`: the process is alive and serving. Touches nothing else.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when every dependency answers, 503 naming the ones that do not in
/// `failed`. `checks` says how each went: `database` (`ok`, `unavailable`) and `mail` (`ok`,
/// `stalled` when an email has been pending longer than `MAIL_STALL_SECS`, `unknown` when the
/// database did not say, `off` when not checked).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mut checks = Map::new();
    let mut failed = Vec::new();
    match check_database(&state.pool).await {
        Ok(()) => {
            checks.insert("database".into(), "ok".into());
            let mail = mail_check(&state.pool, state.settings.mail.stall_after).await;
            if mail == "stalled" {
                failed.push("mail");
            }
            checks.insert("mail".into(), mail.into());
        }
        Err(cause) => {
            tracing::warn!(error.cause = %cause, "readiness: database not answering");
            failed.push("database");
            checks.insert("database".into(), "unavailable".into());
            checks.insert("mail".into(), "unknown".into());
        }
    }
    if failed.is_empty() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": checks })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unavailable", "failed": failed, "checks": Value::Object(checks) }),
            ),
        )
    }
}

/// `GET /readyz/process`: whether this process can serve (its database pool answers), and
/// nothing shared with the other replicas. An orchestrator takes a replica out of service on
/// it: a stalled mail worker is every replica's problem at once, and taking them all out would
/// turn a late email into an outage, so it is left to `/readyz`, the
/// `email_outbox_oldest_pending_age_seconds` metric and its alert.
pub async fn readyz_process(State(state): State<AppState>) -> impl IntoResponse {
    match check_database(&state.pool).await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": { "database": "ok" } })),
        ),
        Err(cause) => {
            tracing::warn!(error.cause = %cause, "process readiness: database not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "failed": ["database"],
                    "checks": { "database": "unavailable" },
                })),
            )
        }
    }
}

/// Whether the oldest pending email has waited longer than `stall_after`: then the mail worker
/// of every replica is stuck, or SMTP has refused or ignored it for that long.
async fn mail_check(pool: &PgPool, stall_after: Option<Duration>) -> &'static str {
    let Some(stall_after) = stall_after else {
        return "off";
    };
    let oldest = read_bounded::<(Option<f64>,)>(
        pool,
        "select extract(epoch from now() - min(created_at))::float8
         from email_outbox where status = 'pending'",
        DATABASE_PROBE_TIMEOUT,
    )
    .await;
    match oldest {
        Ok((Some(age),)) if age > stall_after.as_secs_f64() => {
            tracing::warn!(
                mail.oldest_pending_secs = age as u64,
                mail.stall_secs = stall_after.as_secs(),
                "readiness: an email has been pending longer than MAIL_STALL_SECS"
            );
            "stalled"
        }
        Ok(_) => "ok",
        Err(cause) => {
            tracing::warn!(error.cause = %cause, "readiness: the mail outbox was not read");
            "unknown"
        }
    }
}

/// Reads one row of `sql` within `limit`: a statement timeout on the server (the query does not
/// run on after the caller gave up) and the same limit on waiting for a connection. For probes
/// and scrapes, which must answer even when the database is slow.
pub async fn read_bounded<T>(pool: &PgPool, sql: &'static str, limit: Duration) -> Result<T, String>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let read = async {
        let mut tx = pool.begin().await?;
        sqlx::query("select set_config('statement_timeout', $1, true)")
            .bind(format!("{}ms", limit.as_millis()))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query_as::<_, T>(sql).fetch_one(&mut *tx).await?;
        tx.rollback().await?;
        Ok::<_, sqlx::Error>(row)
    };
    match tokio::time::timeout(limit, read).await {
        Ok(Ok(row)) => Ok(row),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
    }
}
