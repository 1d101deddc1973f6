//! Rate limits kept in Postgres, so every replica sees the same counts.
//!
//! Each key is one row holding a GCRA "theoretical arrival time": a request is allowed when,
//! after adding one emission interval (period / limit), the time is at most one period ahead
//! of now. That allows `limit` requests in a burst and then one per interval, with no fixed
//! windows to game at their edges, and the check-and-update is a single atomic upsert.

use std::time::Duration;

use sqlx::PgConnection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the caller may try again after this many seconds.
    Limited {
        retry_after: u64,
    },
}

/// The emission interval (period / limit) and the period, in seconds, as the SQL takes them.
fn seconds(limit: u32, period: Duration) -> (f64, f64) {
    let period_secs = period.as_secs_f64();
    (period_secs / f64::from(limit.max(1)), period_secs)
}

/// Counts one request against `key`: at most `limit` per `period`.
pub async fn check(
    conn: &mut PgConnection,
    key: &str,
    limit: u32,
    period: Duration,
) -> Result<Decision, sqlx::Error> {
    let (interval_secs, period_secs) = seconds(limit, period);
    let allowed: Option<i32> = sqlx::query_scalar(
        "insert into rate_limits as r (key, tat)
         values ($1, now() + make_interval(secs => $2))
         on conflict (key) do update
             set tat = greatest(r.tat, now()) + make_interval(secs => $2)
             where greatest(r.tat, now()) + make_interval(secs => $2)
                   <= now() + make_interval(secs => $3)
         returning 1",
    )
    .bind(key)
    .bind(interval_secs)
    .bind(period_secs)
    .fetch_optional(&mut *conn)
    .await?;
    if allowed.is_some() {
        return Ok(Decision::Allowed);
    }
    // Refused: say for how long (a concurrent refill may already allow it; then wait a second).
    Ok(match peek(conn, key, limit, period).await? {
        Decision::Allowed => Decision::Limited { retry_after: 1 },
        limited => limited,
    })
}

/// Whether one more request against `key` would be allowed, without counting it. For limits
/// that count only failures: peek before the attempt, [`check`] after a failure.
pub async fn peek(
    conn: &mut PgConnection,
    key: &str,
    limit: u32,
    period: Duration,
) -> Result<Decision, sqlx::Error> {
    let (interval_secs, period_secs) = seconds(limit, period);
    let over: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from greatest(tat, now()) + make_interval(secs => $2)
                                   - now() - make_interval(secs => $3))::float8
         from rate_limits where key = $1",
    )
    .bind(key)
    .bind(interval_secs)
    .bind(period_secs)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match over {
        Some(wait) if wait > 0.0 => Decision::Limited {
            retry_after: wait.ceil().max(1.0) as u64,
        },
        _ => Decision::Allowed,
    })
}

/// Forgets `key` (after a success that should wipe earlier failures).
pub async fn reset(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from rate_limits where key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
