//! `GET /metrics` in the Prometheus text format, on a listener of its own (`METRICS_ADDR`,
//! loopback by default) so it is never served to the public by accident.
//!
//! Two kinds of figures:
//! - events (requests, hashes, rate-limit refusals, deliveries) are counted where they happen,
//!   through the `metrics` facade, into one recorder per process (installed once: the
//!   integration tests run many applications in one process);
//! - state (database pool, hashing slots, outbox) is sampled from this application's own
//!   handles at each scrape and written after the recorder's part, so it is never stale and
//!   never another application's. The outbox is read with a statement timeout: a slow database
//!   leaves those series out of one scrape (and `outbox_sampled` at 0), it cannot hang it.

use std::{fmt::Write as _, sync::OnceLock, time::Duration};

use ::metrics::{describe_counter, describe_gauge, describe_histogram};
use app::infra::{
    hashing::PasswordHasher,
    metrics::{self as names, LimitKind},
};
use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use tokio::time::Instant;

use crate::health;

/// Where the metrics listener answers.
pub const METRICS_PATH: &str = "/metrics";
/// Build information: always 1, the version in a label.
pub const BUILD_INFO: &str = "accounts_build_info";
/// The `route` of a request no route matched (a missing page, a probe for `/wp-admin`): one
/// label, however many paths are tried.
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The `route` of the static files (WASM, JS, CSS), served by the fallback.
pub const STATIC_ROUTE: &str = "/pkg/{*file}";

/// Upper bounds of the request latency buckets, in seconds: from a cached page to the
/// default request time limit (15 s).
const HTTP_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0,
];
/// The longest the outbox may take to answer a scrape.
const OUTBOX_SAMPLE_LIMIT: Duration = Duration::from_secs(1);
/// How often histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    RECORDER
        .get_or_init(install)
        .clone()
        .map_err(anyhow::Error::msg)
}

fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(names::HTTP_REQUEST_DURATION.into()),
            &HTTP_BUCKETS,
        )
        .map_err(|e| format!("invalid metric buckets: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe();
    Ok(handle)
}

/// Help texts, and the bounded series at zero from the start, so a rate over them is defined
/// before their first event.
fn describe() {
    use ::metrics::{Unit, counter, gauge};

    describe_counter!(
        names::HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        names::HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response head, by method, route template and status."
    );
    describe_counter!(
        names::PASSWORD_HASHES,
        "Password hashes computed, by operation (hash, verify)."
    );
    describe_counter!(
        names::PASSWORD_HASH_REFUSALS,
        "Requests answered 503 because no password hashing slot freed up in time."
    );
    describe_counter!(
        names::RATE_LIMIT_REFUSALS,
        "Requests refused by a rate limit, by kind."
    );
    describe_counter!(
        names::EMAIL_DELIVERIES,
        "Mail worker outcomes: sent, failed (will be retried), dead (given up), expired (its code ran out first)."
    );
    describe_counter!(
        names::WEBHOOK_DELIVERIES,
        "Webhook attempts: delivered, failed (will be retried), dead (given up)."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version of the running build.");
    for operation in names::HASH_OPERATIONS {
        counter!(names::PASSWORD_HASHES, "operation" => operation).absolute(0);
    }
    counter!(names::PASSWORD_HASH_REFUSALS).absolute(0);
    for kind in LimitKind::ALL {
        counter!(names::RATE_LIMIT_REFUSALS, "kind" => kind.label()).absolute(0);
    }
    for outcome in names::EMAIL_OUTCOMES {
        counter!(names::EMAIL_DELIVERIES, "outcome" => outcome).absolute(0);
    }
    for outcome in names::WEBHOOK_OUTCOMES {
        counter!(names::WEBHOOK_DELIVERIES, "outcome" => outcome).absolute(0);
    }
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Counts every request by method, route template and status, and times it to its response
/// head. Outermost in the stack, so it sees the status the client gets (413, 503 on time-out,
/// 500 after a panic).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = route_label(&request);
    let response = next.run(request).await;
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    ::metrics::counter!(names::HTTP_REQUESTS, &labels).increment(1);
    ::metrics::histogram!(names::HTTP_REQUEST_DURATION, &labels).record(started.elapsed());
    response
}

/// The standard methods by name; anything else (a client can send any token) as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route template (`/admin/users/{id}`, `/api/register`), never the raw path: one series
/// per route, however many ids there are.
fn route_label(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None if request.uri().path().starts_with("/pkg/") => STATIC_ROUTE.to_owned(),
        None => UNMATCHED_ROUTE.to_owned(),
    }
}

/// What a scrape reads besides the recorder: this application's own handles.
#[derive(Clone)]
pub struct Scrape {
    pub recorder: PrometheusHandle,
    pub pool: PgPool,
    pub max_connections: u32,
    pub hasher: PasswordHasher,
}

/// The metrics listener's whole surface: `GET /metrics`, and 404 for anything else.
pub fn router(scrape: Scrape) -> Router {
    Router::new()
        .route(METRICS_PATH, get(render))
        .with_state(scrape)
}

/// Folds histogram samples into their buckets now and then (the exporter leaves that to its
/// owner when it runs without its own HTTP listener). Runs until aborted.
pub async fn upkeep(recorder: PrometheusHandle) {
    let mut every = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        every.tick().await;
        recorder.run_upkeep();
    }
}

async fn render(State(scrape): State<Scrape>) -> Response {
    let mut body = scrape.recorder.render();
    write_pool(&mut body, &scrape.pool, scrape.max_connections);
    let hashing = scrape.hasher.usage();
    gauge(
        &mut body,
        "password_hash_slots",
        "Password hashes that may run at once (PASSWORD_HASH_SLOTS).",
        &[("", hashing.total as f64)],
    );
    gauge(
        &mut body,
        "password_hash_slots_in_use",
        "Password hashes running now.",
        &[("", hashing.in_use as f64)],
    );
    gauge(
        &mut body,
        "password_hash_waiting",
        "Requests waiting for a password hashing slot now.",
        &[("", hashing.waiting as f64)],
    );
    write_outbox(&mut body, &scrape.pool).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// sqlx tells how many connections are open and idle, not how many tasks wait for one: a pool
/// that is full shows as `in use = max`, and a wait that outlasts the acquire timeout as 503s.
fn write_pool(out: &mut String, pool: &PgPool, max: u32) {
    let open = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
    gauge(
        out,
        "db_pool_connections_max",
        "Most connections this process opens to Postgres (DATABASE_MAX_CONNECTIONS).",
        &[("", f64::from(max))],
    );
    gauge(
        out,
        "db_pool_connections",
        "Connections this process holds open to Postgres, by state (idle, in_use).",
        &[
            ("state=\"idle\"", f64::from(idle)),
            ("state=\"in_use\"", f64::from(open - idle)),
        ],
    );
}

#[derive(sqlx::FromRow)]
struct Queues {
    emails_pending: i64,
    emails_dead: i64,
    oldest_pending_email_secs: Option<f64>,
    webhooks_pending: i64,
    webhooks_dead: i64,
}

/// The unfinished rows of both outboxes, through partial indexes (sent mail is not counted: the
/// table keeps a week of it; `email_deliveries_total` has its rate).
async fn write_outbox(out: &mut String, pool: &PgPool) {
    let sample = health::read_bounded::<Queues>(
        pool,
        "select
             (select count(*) from email_outbox where status = 'pending') as emails_pending,
             (select count(*) from email_outbox where status = 'dead') as emails_dead,
             (select extract(epoch from now() - min(created_at))::float8
              from email_outbox where status = 'pending') as oldest_pending_email_secs,
             (select count(*) from webhook_deliveries where status = 'pending') as webhooks_pending,
             (select count(*) from webhook_deliveries where status = 'dead') as webhooks_dead",
        OUTBOX_SAMPLE_LIMIT,
    )
    .await;
    gauge(
        out,
        "outbox_sampled",
        "1 when this scrape could read the outbox figures (email_outbox_*, webhook_outbox_*); 0 when the database did not answer in time.",
        &[("", if sample.is_ok() { 1.0 } else { 0.0 })],
    );
    let queues = match sample {
        Ok(queues) => queues,
        Err(cause) => {
            tracing::warn!(error.cause = %cause, "metrics: outbox not read; left out of this scrape");
            return;
        }
    };
    gauge(
        out,
        "email_outbox_messages",
        "Emails waiting to be sent (pending) or given up (dead).",
        &[
            ("status=\"pending\"", queues.emails_pending as f64),
            ("status=\"dead\"", queues.emails_dead as f64),
        ],
    );
    gauge(
        out,
        "email_outbox_oldest_pending_age_seconds",
        "Age of the oldest pending email; 0 when none is pending.",
        &[("", queues.oldest_pending_email_secs.unwrap_or(0.0).max(0.0))],
    );
    gauge(
        out,
        "webhook_outbox_deliveries",
        "Webhook deliveries waiting to be made (pending) or given up (dead).",
        &[
            ("status=\"pending\"", queues.webhooks_pending as f64),
            ("status=\"dead\"", queues.webhooks_dead as f64),
        ],
    );
}

/// One gauge family in the text format. `series` pairs a label set written out (fixed text,
/// never a client's) with a value; an empty label set is the bare name.
fn gauge(out: &mut String, name: &str, help: &str, series: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in series {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_written_in_the_text_format() {
        let mut out = String::new();
        gauge(&mut out, "a_things", "Things.", &[("", 2.0)]);
        gauge(
            &mut out,
            "b_rows",
            "Rows.",
            &[("status=\"pending\"", 1.5), ("status=\"dead\"", 0.0)],
        );
        assert_eq!(
            out,
            "# HELP a_things Things.\n# TYPE a_things gauge\na_things 2\n\
             # HELP b_rows Rows.\n# TYPE b_rows gauge\nb_rows{status=\"pending\"} 1.5\n\
             b_rows{status=\"dead\"} 0\n"
        );
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let odd = Method::from_bytes(b"BREW").expect("a method token");
        assert_eq!(method_label(&odd), "other");
    }
}
