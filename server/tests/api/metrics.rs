//! The metrics listener: the Prometheus text format on a port of its own, never on the public
//! one, with counters that move with what happens.
//!
//! Every app of this test process records into the one process-wide recorder, and other tests
//! run at the same time: counters are compared before and after, and only ever "moved by at
//! least". The gauges sampled at scrape time (pool, hashing slots, outbox) are this app's own.

use std::time::Instant;

use openmetrics_parser::{
    MetricsExposition, PrometheusType, PrometheusValue, prometheus::parse_prometheus,
};
use serde_json::Value;

use crate::helpers::{Person, TestApp, error_code, free_port, spawn_app, spawn_app_with};

/// One scrape, parsed by a full Prometheus text-format grammar.
struct Scrape {
    text: String,
    parsed: MetricsExposition<PrometheusType, PrometheusValue>,
}

impl Scrape {
    /// The samples of `name` whose labels include every pair of `labels`.
    fn matching<'a>(
        &'a self,
        name: &str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a PrometheusValue> + 'a {
        self.parsed
            .families
            .get(name)
            .into_iter()
            .flat_map(|family| family.iter_samples())
            .filter(move |sample| {
                let set = sample
                    .get_labelset()
                    .expect("a sample of a family has labels");
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|sample| &sample.value)
    }

    /// The counter or gauge `name` with `labels`; `None` when no such series exists.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut values = self.matching(name, labels);
        let value = match values.next()? {
            PrometheusValue::Counter(c) => c.value.as_f64(),
            PrometheusValue::Gauge(g) => g.as_f64(),
            other => panic!("{name} is not a counter or a gauge: {other:?}"),
        };
        assert!(
            values.next().is_none(),
            "{name} {labels:?} names one series"
        );
        Some(value)
    }

    /// A counter that may not have been touched yet counts 0.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no gauge {name} {labels:?} in:\n{}", self.text))
    }

    /// Observations of the histogram `name` with `labels` (0 before the first).
    fn observations(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let mut total = 0;
        for value in self.matching(name, labels) {
            match value {
                PrometheusValue::Histogram(h) => total += h.count.expect("a _count line"),
                other => panic!("{name} is not a histogram: {other:?}"),
            }
        }
        total
    }

    /// Sample lines: what Prometheus stores as series.
    fn series(&self) -> usize {
        self.text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count()
    }
}

fn metrics_url(app: &TestApp) -> String {
    let address = app
        .metrics_address
        .as_deref()
        .expect("the test settings turn the metrics listener on");
    format!("{address}/metrics")
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = reqwest::get(metrics_url(app)).await.expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("a body");
    let parsed = parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("not the Prometheus text format ({e:?}):\n{text}"));
    Scrape { text, parsed }
}

const REGISTER: [(&str, &str); 3] = [
    ("method", "POST"),
    ("route", "/api/register"),
    ("status", "201"),
];

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_and_never_on_the_public_one() {
    let app = spawn_app().await;

    let public = app.get("/metrics").await;
    assert_eq!(public.status(), 404);
    let body = public.text().await.expect("a body");
    assert!(
        !body.contains("# TYPE") && !body.contains("http_requests_total"),
        "the public port shows no metrics: {body}"
    );

    let scraped = scrape(&app).await;
    assert_eq!(
        scraped.gauge(
            "accounts_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // The public 404 was counted under one fixed route, not its path.
    assert!(
        scraped.counter(
            "http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0
    );
    assert!(
        !scraped.text.contains("route=\"/metrics\""),
        "no raw path becomes a label"
    );
    // The metrics listener serves nothing else.
    let other = reqwest::get(metrics_url(&app).replace("/metrics", "/readyz"))
        .await
        .expect("request");
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn metrics_addr_off_opens_no_listener() {
    let app = spawn_app_with(&[("METRICS_ADDR", "off")]).await;
    assert!(app.metrics_address.is_none());
    assert_eq!(app.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn a_registration_moves_the_request_hashing_and_mail_counters() {
    let app = spawn_app_with(&[("PASSWORD_HASH_SLOTS", "3")]).await;
    let before = scrape(&app).await;

    let person = Person::new();
    assert_eq!(app.register(&person).await.status(), 201);
    app.outbox_settles().await;
    let after = scrape(&app).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.counter(name, labels) - before.counter(name, labels)
    };
    assert!(moved("http_requests_total", &REGISTER) >= 1.0);
    assert!(
        after.observations("http_request_duration_seconds", &REGISTER)
            > before.observations("http_request_duration_seconds", &REGISTER)
    );
    assert!(moved("password_hashes_total", &[("operation", "hash")]) >= 1.0);
    assert!(moved("email_deliveries_total", &[("outcome", "sent")]) >= 1.0);

    // This app's own state, sampled at the scrape.
    assert_eq!(after.gauge("outbox_sampled", &[]), 1.0);
    assert_eq!(
        after.gauge("email_outbox_messages", &[("status", "pending")]),
        0.0
    );
    assert_eq!(
        after.gauge("email_outbox_messages", &[("status", "dead")]),
        0.0
    );
    assert_eq!(
        after.gauge("email_outbox_oldest_pending_age_seconds", &[]),
        0.0
    );
    assert_eq!(after.gauge("password_hash_slots", &[]), 3.0);
    assert_eq!(after.gauge("password_hash_slots_in_use", &[]), 0.0);
    assert_eq!(after.gauge("password_hash_waiting", &[]), 0.0);
    assert_eq!(after.gauge("db_pool_connections_max", &[]), 10.0);
    let open = after.gauge("db_pool_connections", &[("state", "idle")])
        + after.gauge("db_pool_connections", &[("state", "in_use")]);
    assert!((1.0..=10.0).contains(&open), "{open} connections open");

    // Every route label is a template or the fixed one: never a path with an id in it.
    for family in ["http_requests_total", "http_request_duration_seconds"] {
        for sample in after.parsed.families[family].iter_samples() {
            let labels = sample.get_labelset().expect("labels");
            let route = labels.get_label_value("route").expect("a route label");
            assert!(
                route == "unmatched" || route.starts_with('/'),
                "route {route:?}"
            );
            assert!(
                !route.contains(&person.email) && !route.chars().any(|c| c == '?'),
                "route {route:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_rate_limit_refusal_is_counted_by_its_kind() {
    let app = spawn_app_with(&[("RATE_LIMIT_REGISTER_PER_IP", "1")]).await;
    let kind = [("kind", "register_per_ip")];
    let before = scrape(&app).await;
    // Every kind is there from the start, at its count so far.
    for kind in [
        "register_per_ip",
        "sign_in_per_ip",
        "sign_in_per_email",
        "code_cooldown",
        "codes_per_hour",
        "reset_per_network",
        "reset_per_address",
        "second_step_per_account",
    ] {
        assert!(
            before
                .value("rate_limit_refusals_total", &[("kind", kind)])
                .is_some(),
            "{kind}"
        );
    }

    assert_eq!(app.register(&Person::new()).await.status(), 201);
    let refused = app.register(&Person::new()).await;
    assert_eq!(error_code(refused, 429).await, "too_many_requests");

    let after = scrape(&app).await;
    assert!(
        after.counter("rate_limit_refusals_total", &kind)
            - before.counter("rate_limit_refusals_total", &kind)
            >= 1.0
    );
    assert!(
        after.counter(
            "http_requests_total",
            &[("route", "/api/register"), ("status", "429")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn readyz_reports_the_mail_worker_stalled_when_an_email_waits_too_long() {
    // Nothing listens there, and a failed delivery is retried only minutes later.
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&[
        ("SMTP_URL", &url),
        ("EMAIL_RETRY_BASE_MS", "600000"),
        ("MAIL_STALL_SECS", "300"),
    ])
    .await;
    assert_eq!(app.register(&Person::new()).await.status(), 201);
    app.db_reaches(
        "select exists(select 1 from email_outbox where attempts >= 1 and last_error is not null)",
        "a failed delivery attempt",
    )
    .await;

    // Pending, but not for long: ready.
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["mail"], "ok");

    // Ten minutes pass without the email going out.
    sqlx::query("update email_outbox set created_at = created_at - interval '10 minutes'")
        .execute(&app.pool)
        .await
        .expect("age the email");
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["failed"], serde_json::json!(["mail"]));
    assert_eq!(body["checks"]["mail"], "stalled");
    assert_eq!(body["checks"]["database"], "ok");
    // This process can still serve: the probe an orchestrator reads keeps it in service.
    let response = app.get("/readyz/process").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"], serde_json::json!({"database": "ok"}));

    let scraped = scrape(&app).await;
    assert_eq!(
        scraped.gauge("email_outbox_messages", &[("status", "pending")]),
        1.0
    );
    assert!(scraped.gauge("email_outbox_oldest_pending_age_seconds", &[]) >= 600.0);
}

#[tokio::test]
async fn readyz_leaves_mail_alone_when_the_check_is_off() {
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&[
        ("SMTP_URL", &url),
        ("EMAIL_RETRY_BASE_MS", "600000"),
        ("MAIL_STALL_SECS", "0"),
    ])
    .await;
    assert_eq!(app.register(&Person::new()).await.status(), 201);
    sqlx::query("update email_outbox set created_at = created_at - interval '1 day'")
        .execute(&app.pool)
        .await
        .expect("age the email");
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["mail"], "off");
}

#[tokio::test]
async fn a_scrape_still_answers_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let admin = crate::helpers::admin_database_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(
        &crate::helpers::with_database(&admin, "postgres"),
    )
    .await
    .expect("connect");
    sqlx::query(&format!(r#"drop database "{}" with (force)"#, app.db_name))
        .execute(&mut conn)
        .await
        .expect("drop the app's database");

    let scraped = scrape(&app).await;
    assert_eq!(scraped.gauge("outbox_sampled", &[]), 0.0);
    assert!(
        scraped
            .value("email_outbox_messages", &[("status", "pending")])
            .is_none()
    );
    assert!(scraped.value("password_hash_slots", &[]).is_some());
}

/// Not a check: prints the size and latency of a scrape after some traffic, for the notes.
/// `cargo test -p server --test api scrape_size_and_latency -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn scrape_size_and_latency() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let person = Person::new();
        app.register_and_get_code(&person).await;
        app.login(&person.email, &person.password).await;
        app.get("/").await;
        app.get("/register").await;
        app.get("/no-such-page").await;
    }
    app.outbox_settles().await;
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..21 {
        let started = Instant::now();
        let text = client
            .get(metrics_url(&app))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body");
        times.push(started.elapsed());
        bytes = text.len();
    }
    times.sort();
    let last = scrape(&app).await;
    eprintln!("{}", last.text);
    eprintln!(
        "scrape: {bytes} bytes, {} series lines, {} families; latency median {:?} (min {:?}, max {:?}) over {} scrapes",
        last.series(),
        last.parsed.families.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
}
