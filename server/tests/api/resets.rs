//! Password reset against a patient attacker: long codes, a cap on wrong codes per address over
//! all its codes (its owner told once), per-network limits on requests and attempts, and
//! requests queued as rows that a flood cannot turn into unbounded work.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::helpers::{Person, TestApp, body, error_code, other_code, spawn_app_with};

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/request-password-reset", &json!({"email": email}))
        .await
}

async fn try_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/api/reset-password",
        &json!({"email": email, "code": code, "new_password": "a fresh new password"}),
    )
    .await
}

/// The `nth` email to `email` (the activation code was the first), its code.
async fn emailed_code(app: &TestApp, email: &str, nth: usize) -> String {
    app.mail
        .wait_for_nth(email, nth, crate::smtp::MAIL_WITHIN)
        .await
        .code()
}

#[tokio::test]
async fn reset_codes_have_ten_digits_and_a_code_of_another_length_is_refused_as_a_field() {
    let app = spawn_app_with(&[]).await;
    let person = app.activated_person().await;
    assert_eq!(request_reset(&app, &person.email).await.status(), 200);
    let code = emailed_code(&app, &person.email, 2).await;
    assert_eq!(code.len(), 10, "{code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    // Four digits, as the activation code has: the field is wrong, and no try is counted.
    let response = try_code(&app, &person.email, &code[..4]).await;
    assert_eq!(response.status(), 422);
    let error = body(response).await;
    assert_eq!(
        (error["error"].as_str(), error["field"].as_str()),
        (Some("invalid"), Some("code"))
    );
    let attempts: i32 =
        sqlx::query_scalar("select attempts from one_time_codes where purpose = 'password_reset'")
            .fetch_one(&app.pool)
            .await
            .expect("the reset code");
    assert_eq!(attempts, 0);

    // Grouped as the page shows it, with a space: still the code.
    let grouped = format!("{} {}", &code[..5], &code[5..]);
    assert_eq!(try_code(&app, &person.email, &grouped).await.status(), 200);

    // The rules the page explains come from the server.
    let settings = body(app.get("/api/settings").await).await;
    assert_eq!(settings["reset_code_length"], 10);
    assert_eq!(settings["reset_code_ttl_secs"], 600);
    assert_eq!(settings["reset_failures_per_day"], 20);
    assert_eq!(settings["currency"], "EUR");
}

#[tokio::test]
async fn wrong_reset_codes_are_capped_per_address_over_all_its_codes_and_the_owner_is_told_once() {
    let app = spawn_app_with(&[
        ("RESET_FAILURES_PER_DAY", "3"),
        ("CODE_MAX_ATTEMPTS", "2"),
        ("CODE_RESEND_COOLDOWN_SECS", "0"),
        ("CODE_RESENDS_PER_HOUR", "100"),
    ])
    .await;
    let person = app.activated_person().await;

    // Two wrong tries use the first code up; a second code, one more wrong try: three in all.
    assert_eq!(request_reset(&app, &person.email).await.status(), 200);
    let first = emailed_code(&app, &person.email, 2).await;
    for _ in 0..2 {
        let response = try_code(&app, &person.email, &other_code(&first, 1)).await;
        assert_eq!(error_code(response, 422).await, "invalid_code");
    }
    assert_eq!(request_reset(&app, &person.email).await.status(), 200);
    let second = emailed_code(&app, &person.email, 3).await;
    let response = try_code(&app, &person.email, &other_code(&second, 1)).await;
    assert_eq!(error_code(response, 422).await, "invalid_code");

    // The cap is reached: even the right code is refused now, with when to come back.
    let response = try_code(&app, &person.email, &second).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after > 0);
    assert_eq!(body(response).await["error"], "too_many_attempts");

    // The owner is told, once, and the password still signs in.
    let notice = app
        .mail
        .wait_for_nth(&person.email, 4, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(notice.subject(), "Someone is trying to reset your password");
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let response = try_code(&app, &person.email, &other_code(&second, 2)).await;
    assert_eq!(response.status(), 429);
    app.outbox_settles().await;
    let notices: i64 = sqlx::query_scalar(
        "select count(*) from email_outbox where kind = 'reset_attempts_notice'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("count notices");
    assert_eq!(notices, 1, "told once");

    // The cap is the address's, not the network's: another person resets as usual.
    let other = app.activated_person().await;
    assert_eq!(request_reset(&app, &other.email).await.status(), 200);
    let code = emailed_code(&app, &other.email, 2).await;
    assert_eq!(try_code(&app, &other.email, &code).await.status(), 200);
}

#[tokio::test]
async fn reset_requests_and_attempts_are_limited_per_network() {
    let app = spawn_app_with(&[("RATE_LIMIT_RESET_PER_NETWORK", "2")]).await;
    let person = app.activated_person().await;
    let unknown = Person::new();
    // Requests: two from this network, for any addresses; the third is refused.
    assert_eq!(request_reset(&app, &person.email).await.status(), 200);
    assert_eq!(request_reset(&app, &unknown.email).await.status(), 200);
    let response = request_reset(&app, &Person::new().email).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(body(response).await["error"], "too_many_attempts");

    // Attempts are counted apart from requests: two, then refused before any hash or lookup.
    let code = emailed_code(&app, &person.email, 2).await;
    for _ in 0..2 {
        let response = try_code(&app, &person.email, &other_code(&code, 1)).await;
        assert_eq!(error_code(response, 422).await, "invalid_code");
    }
    let response = try_code(&app, &person.email, &code).await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
}

/// Reset requests for many addresses, all at once, from a few connections: each is one row and
/// a 200, and the worker handles them at its own pace while signed-in reads go on answering.
/// Sized for a 2-core test machine (2,000 requests); `bench` floods with more.
#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figures for the notes (--nocapture)"
)]
async fn a_flood_of_reset_requests_is_queued_work_and_signed_in_reads_keep_answering() {
    const REQUESTS: usize = 2_000;
    const CONNECTIONS: usize = 16;
    let app = Arc::new(spawn_app_with(&[("RATE_LIMIT_RESET_PER_NETWORK", "0")]).await);
    let person = app.activated_person().await;
    let token = app.token(&person).await;

    let flooding = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let probe = {
        let (app, flooding, token) = (Arc::clone(&app), Arc::clone(&flooding), token.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = Instant::now();
                let response = app
                    .bearer(reqwest::Method::GET, "/api/profile", &token)
                    .send()
                    .await
                    .expect("the profile answers");
                answers.push((response.status().as_u16(), sent.elapsed()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answers
        })
    };
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (app, next) = (Arc::clone(&app), Arc::clone(&next));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < REQUESTS {
                    let email = Person::new().email;
                    statuses.push(request_reset(&app, &email).await.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for sender in senders {
        statuses.extend(sender.await.expect("a sender"));
    }
    let flood_took = started.elapsed();
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let probes = probe.await.expect("the probe");

    assert_eq!(statuses.len(), REQUESTS);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request is a 200: {:?}",
        statuses.iter().filter(|s| **s != 200).collect::<Vec<_>>()
    );
    assert!(!probes.is_empty());
    assert!(
        probes.iter().all(|(status, _)| *status == 200),
        "the profile answered 200 throughout: {:?}",
        probes.iter().filter(|(s, _)| *s != 200).collect::<Vec<_>>()
    );
    // Exactly one row per request (the identity column counts every row ever written), and the
    // worker works through them.
    let queued: i64 = sqlx::query_scalar("select count(*) from password_reset_requests")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    let written: i64 = sqlx::query_scalar(
        "select last_value from pg_sequences where sequencename = 'password_reset_requests_id_seq'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the rows written");
    assert_eq!(written, REQUESTS as i64, "one row per request");
    app.db_reaches(
        "select not exists(select 1 from password_reset_requests)",
        "every reset request handled",
    )
    .await;
    let codes: i64 =
        sqlx::query_scalar("select count(*) from one_time_codes where purpose = 'password_reset'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(
        codes, REQUESTS as i64,
        "one code slot per address asked for"
    );

    let mut latencies: Vec<Duration> = probes.iter().map(|(_, took)| *took).collect();
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    println!(
        "reset flood: {REQUESTS} requests from {CONNECTIONS} connections in {flood_took:?}, all \
         200; {queued} still queued when the flood ended; GET /api/profile probed {} times, 0 \
         not 200, p99 {p99:?}",
        probes.len()
    );
}
