//! Registration, activation and resend, through the public HTTP contract.

use futures_util::future::join_all;
use serde_json::json;
use sha2::Digest as _;

use crate::helpers::{
    MailSink, Person, basic, body, error_code, free_port, other_code, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn registration_answers_201_and_emails_a_code() {
    let app = spawn_app().await;
    let mut person = Person::new();
    person.email = person.email.replace("ada", "Ada");
    let response = app.register(&person).await;
    assert_eq!(response.status(), 201);
    let registered = body(response).await;
    assert!(uuid::Uuid::parse_str(registered["user_id"].as_str().unwrap_or("")).is_ok());
    assert_eq!(registered["email"], person.email.as_str());
    let e164 = person.phone_number.replace(' ', "");
    assert_eq!(registered["phone_number"], e164.as_str());
    assert_eq!(registered["code_expires_in"], 60);

    let mail = app.mail.wait_for(&person.email).await;
    let code = mail.code();
    assert_eq!(code.len(), 4);
    assert!(
        mail.subject().contains("activation code"),
        "{}",
        mail.subject()
    );
    let text = mail.text_body();
    assert!(
        text.lines().any(|line| line == code),
        "the code on a line of its own:\n{text}"
    );
    assert!(text.contains("expires in one minute"), "{text}");
    // In an element of its own: four digits alone could turn up anywhere in a page of markup.
    assert!(
        mail.html_body().contains(&format!(">{code}<")),
        "an HTML part with the code"
    );

    // Stored as HMAC-SHA256 keyed with the server's secret over the purpose, the account and
    // the code (computed here by hand, from RFC 2104), never as the code or its plain hash: a
    // dump of the table alone cannot test candidate codes.
    let (hash, user_id): (Vec<u8>, uuid::Uuid) =
        sqlx::query_as("select code_hash, user_id from one_time_codes")
            .fetch_one(&app.pool)
            .await
            .expect("a code row");
    let message = format!("activation\0{user_id}\0{code}");
    let key = server::settings::DEVELOPMENT_SECRET_KEY.as_bytes();
    assert_eq!(hash, hmac_sha256(key, message.as_bytes()));
    assert_ne!(hash, hmac_sha256(b"another key", message.as_bytes()));
    assert_ne!(hash, sha2::Sha256::digest(message.as_bytes()).to_vec());
    // Once delivered over SMTP, the body leaves the outbox.
    let (text, _) = app.outbox_reaches("sent").await;
    assert_eq!(text, None);
}

#[tokio::test]
async fn each_invalid_field_is_named() {
    let app = spawn_app().await;
    let cases = [
        ("first_name", json!("   ")),
        ("first_name", json!("a".repeat(101))),
        ("last_name", json!("Love\u{0007}lace")),
        ("email", json!("not-an-email")),
        ("email", json!("ada@localhost")),
        ("phone_number", json!("12345")),
        ("phone_number", json!("+44 20 1234")),
        ("password", json!("short")),
        ("password", json!("x".repeat(129))),
        ("password", json!("Password123")),
    ];
    for (field, value) in cases {
        let mut request = Person::new().json();
        request[field] = value.clone();
        let response = app.post_json("/api/register", &request).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let error = body(response).await;
        assert_eq!(error["error"], "invalid", "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn missing_fields_and_malformed_bodies_are_422() {
    let app = spawn_app().await;
    let mut request = Person::new().json();
    request.as_object_mut().map(|o| o.remove("phone_number"));
    let error = body(app.post_json("/api/register", &request).await).await;
    assert_eq!(error["error"], "invalid");
    assert_eq!(error["field"], "phone_number");

    for raw in ["{", "[]", "null", "{\"email\": 5}"] {
        let response = app
            .client
            .post(app.url("/api/register"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("request");
        assert_eq!(error_code(response, 422).await, "invalid", "{raw}");
    }
}

#[tokio::test]
async fn a_passwords_length_counts_characters_and_long_ones_are_kept_whole() {
    let app = spawn_app().await;
    let mut person = Person::new();
    person.password = format!("{}🦀", "ж".repeat(127));
    assert_eq!(app.register(&person).await.status(), 201);
    let code = app.mail.wait_for(&person.email).await.code();
    // Only the full 128 characters activate: nothing was truncated.
    let mut truncated = person.clone();
    truncated.password = "ж".repeat(127);
    assert_eq!(
        error_code(app.activate(&truncated, &code).await, 401).await,
        "invalid_credentials"
    );
    assert_eq!(app.activate(&person, &code).await.status(), 200);
}

#[tokio::test]
async fn taken_emails_and_phones_conflict_whatever_their_spelling() {
    let app = spawn_app().await;
    let first = Person::new();
    assert_eq!(app.register(&first).await.status(), 201);

    let mut same_email = Person::new();
    same_email.email = first.email.to_uppercase();
    let response = app.register(&same_email).await;
    assert_eq!(response.status(), 409);
    let error = body(response).await;
    assert_eq!(error["error"], "email_taken");
    assert_eq!(error["field"], "email");

    let mut same_phone = Person::new();
    same_phone.phone_number = format!("0{}", &first.phone_number.replace(' ', "")[3..]);
    let response = app.register(&same_phone).await;
    assert_eq!(error_code(response, 409).await, "phone_taken");
}

#[tokio::test]
async fn concurrent_duplicates_give_exactly_one_201() {
    // Twenty password hashes at once queue for the hashing slots: a wait as long as a person
    // would give it, so none is turned away with a 503 however slow the machine.
    let app = spawn_app_with(&[
        ("RATE_LIMIT_REGISTER_PER_IP", "0"),
        ("PASSWORD_HASH_MAX_WAIT_MS", "120000"),
    ])
    .await;
    let base = Person::new();
    let attempts = (0..20).map(|i| {
        let mut person = Person::new();
        person.email = if i % 2 == 0 {
            base.email.to_uppercase()
        } else {
            base.email.clone()
        };
        let app = &app;
        async move { app.register(&person).await.status().as_u16() }
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn the_right_code_activates_once() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let response = app.activate(&person, &code).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"activated": true}));
    let (status, verified): (String, bool) =
        sqlx::query_as("select status, email_verified_at is not null from users")
            .fetch_one(&app.pool)
            .await
            .expect("user");
    assert_eq!((status.as_str(), verified), ("active", true));

    assert_eq!(
        error_code(app.activate(&person, &code).await, 409).await,
        "already_active"
    );
    assert_eq!(
        error_code(app.resend(&person).await, 409).await,
        "already_active"
    );
}

#[tokio::test]
async fn wrong_codes_count_down_then_burn_the_code() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let wrong = other_code(&code, 1);
    for left in (0..5).rev() {
        let response = app.activate(&person, &wrong).await;
        assert_eq!(response.status(), 422);
        let error = body(response).await;
        assert_eq!(error["error"], "invalid_code");
        assert_eq!(error["attempts_left"], left, "{error}");
    }
    // Used up: even the right code no longer works.
    assert_eq!(
        error_code(app.activate(&person, &code).await, 410).await,
        "code_used_up"
    );

    // A malformed code is a plain 422 and costs no attempt.
    app.age_code(&person.email, 31.0).await;
    assert_eq!(app.resend(&person).await.status(), 200);
    let response = app.activate(&person, "12a4").await;
    let error = body(response).await;
    assert_eq!(
        (error["error"].as_str(), error["field"].as_str()),
        (Some("invalid"), Some("code"))
    );
    let fresh = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await
        .code();
    assert_eq!(app.activate(&person, &fresh).await.status(), 200);
}

#[tokio::test]
async fn fifty_parallel_wrong_codes_evaluate_at_most_five() {
    // Fixed hashing slots and a wait as long as a person would give it: every guess gets its
    // password checked, however slow the machine (no 503 for a busy hasher).
    let app = spawn_app_with(&[
        ("PASSWORD_HASH_SLOTS", "2"),
        ("PASSWORD_HASH_MAX_WAIT_MS", "120000"),
        ("RATE_LIMIT_LOGIN_PER_IP", "0"),
    ])
    .await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let wrong = format!(
        "{:04}",
        (code.parse::<u32>().expect("digits") + 5000) % 10_000
    );
    let guesses = (0..50).map(|_| {
        let (app, person, wrong) = (&app, &person, &wrong);
        async move { app.activate(person, wrong).await.status().as_u16() }
    });
    let statuses = join_all(guesses).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        45,
        "the code is used up for the rest: {statuses:?}"
    );
    let (attempts, failed): (i32, i32) = sqlx::query_as(
        "select c.attempts, u.failed_code_attempts from one_time_codes c join users u on u.id = c.user_id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("counts");
    assert_eq!((attempts, failed), (5, 5));
}

#[tokio::test]
async fn an_expired_code_is_410() {
    let app = spawn_app_with(&[("ACTIVATION_CODE_TTL_SECS", "120")]).await;
    let person = Person::new();
    let response = app.register(&person).await;
    assert_eq!(body(response).await["code_expires_in"], 120);
    let mail = app.mail.wait_for(&person.email).await;
    let text = mail.text_body();
    assert!(text.contains("expires in 2 minutes"), "{text}");
    // The two minutes pass.
    app.age_code(&person.email, 121.0).await;
    assert_eq!(
        error_code(app.activate(&person, &mail.code()).await, 410).await,
        "code_expired"
    );
}

#[tokio::test]
async fn a_resent_code_replaces_the_previous_one() {
    let app = spawn_app().await;
    let person = Person::new();
    let first = app.register_and_get_code(&person).await;

    let response = app.resend(&person).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(body(response).await["error"], "resend_too_soon");

    app.age_code(&person.email, 31.0).await;
    let response = app.resend(&person).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"code_expires_in": 60}));
    let second = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await
        .code();
    if second != first {
        assert_eq!(
            error_code(app.activate(&person, &first).await, 422).await,
            "invalid_code"
        );
    }
    assert_eq!(app.activate(&person, &second).await.status(), 200);
}

#[tokio::test]
async fn resends_are_capped_at_five_an_hour() {
    let app = spawn_app().await;
    let person = Person::new();
    app.register_and_get_code(&person).await;
    for _ in 0..5 {
        app.age_code(&person.email, 31.0).await;
        assert_eq!(app.resend(&person).await.status(), 200);
    }
    app.age_code(&person.email, 31.0).await;
    let response = app.resend(&person).await;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after > 60, "{retry_after}");
    assert_eq!(error_code(response, 429).await, "resend_too_soon");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let mut wrong_password = person.clone();
    wrong_password.password.push('!');
    let mut unknown = Person::new();
    unknown.password = person.password.clone();

    let mut bodies = Vec::new();
    for who in [&wrong_password, &unknown] {
        for response in [app.activate(who, &code).await, app.resend(who).await] {
            assert_eq!(response.status(), 401);
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert!(challenge.starts_with("Basic realm="), "{challenge}");
            bodies.push(body(response).await);
        }
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "{bodies:?}");
    assert_eq!(bodies[0]["error"], "invalid_credentials");
}

#[tokio::test]
async fn malformed_basic_auth_is_401_never_500() {
    let app = spawn_app().await;
    let no_colon = format!("Basic {}", base64_of("ada@example.com"));
    let huge = format!("Basic {}", "QUFB".repeat(2600));
    for header in [
        None,
        Some("Basic !!!not base64!!!".to_string()),
        Some(no_colon),
        Some(huge),
        Some("Bearer abc".to_string()),
        Some("Basic".to_string()),
    ] {
        for path in ["/api/activate", "/api/resend-code"] {
            let mut request = app
                .client
                .post(app.url(path))
                .json(&json!({"code": "1234"}));
            if let Some(h) = &header {
                request = request.header("authorization", h);
            }
            let response = request.send().await.expect("request");
            assert_eq!(
                error_code(response, 401).await,
                "invalid_credentials",
                "{path} {:.30?}",
                header
            );
        }
    }
}

fn base64_of(raw: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[tokio::test]
async fn a_hundred_wrong_codes_lock_the_pending_account() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    // 99 failures over earlier codes, then one more.
    sqlx::query("update users set failed_code_attempts = 99")
        .execute(&app.pool)
        .await
        .expect("update");
    let wrong = other_code(&code, 1);
    assert_eq!(
        error_code(app.activate(&person, &wrong).await, 409).await,
        "account_locked"
    );
    assert_eq!(
        error_code(app.activate(&person, &code).await, 409).await,
        "account_locked"
    );
    assert_eq!(
        error_code(app.resend(&person).await, 409).await,
        "account_locked"
    );
}

#[tokio::test]
async fn a_stale_pending_registration_is_replaced_and_its_password_dies() {
    let app = spawn_app().await;
    let old = Person::new();
    app.register_and_get_code(&old).await;

    // Still fresh: the address is held.
    let mut again = Person::new();
    again.email = old.email.clone();
    again.password = "a completely different password".into();
    assert_eq!(
        error_code(app.register(&again).await, 409).await,
        "email_taken"
    );

    // Code expired and idle past PENDING_HOLD_SECS (900 s): it gives way.
    app.age_code(&old.email, 3600.0).await;
    sqlx::query("update users set last_activity_at = now() - interval '1 hour'")
        .execute(&app.pool)
        .await
        .expect("age the account");
    let response = app.register(&again).await;
    assert_eq!(response.status(), 201);
    let code = app
        .mail
        .wait_for_nth(&again.email, 2, crate::smtp::MAIL_WITHIN)
        .await
        .code();
    assert_eq!(
        error_code(app.activate(&old, &code).await, 401).await,
        "invalid_credentials"
    );
    assert_eq!(app.activate(&again, &code).await.status(), 200);
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn an_activated_account_is_never_replaced() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    assert_eq!(app.activate(&person, &code).await.status(), 200);
    sqlx::query("update users set last_activity_at = now() - interval '1 day'")
        .execute(&app.pool)
        .await
        .expect("age");
    let mut again = Person::new();
    again.phone_number = person.phone_number.clone();
    assert_eq!(
        error_code(app.register(&again).await, 409).await,
        "phone_taken"
    );
}

#[tokio::test]
async fn a_megabyte_body_is_413_before_any_work() {
    let app = spawn_app().await;
    let mut request = Person::new().json();
    request["password"] = json!("x".repeat(1024 * 1024));
    let response = app.post_json("/api/register", &request).await;
    assert_eq!(error_code(response, 413).await, "payload_too_large");
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn registrations_are_limited_per_client_ip() {
    let app = spawn_app_with(&[("RATE_LIMIT_REGISTER_PER_IP", "2")]).await;
    for _ in 0..2 {
        assert_eq!(app.register(&Person::new()).await.status(), 201);
    }
    // X-Forwarded-For from an untrusted peer changes nothing.
    let response = app
        .client
        .post(app.url("/api/register"))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&Person::new().json())
        .send()
        .await
        .expect("request");
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_code(response, 429).await, "too_many_requests");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_REGISTER_PER_IP", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    let register_from = |ip: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/register"))
                .header("x-forwarded-for", ip)
                .json(&Person::new().json())
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(register_from("198.51.100.1").await, 201);
    assert_eq!(register_from("198.51.100.2").await, 201);
    assert_eq!(register_from("198.51.100.1").await, 429);
    let ips: Vec<Option<String>> =
        sqlx::query_scalar("select ip from security_events where kind = 'registered' order by id")
            .fetch_all(&app.pool)
            .await
            .expect("events");
    assert_eq!(
        ips,
        vec![
            Some("198.51.100.1".to_string()),
            Some("198.51.100.2".to_string())
        ]
    );
}

#[tokio::test]
async fn saturated_hashing_answers_503_with_retry_after() {
    // One slot and no waiting: while one registration hashes, the others are turned away.
    let app = spawn_app_with(&[
        ("RATE_LIMIT_REGISTER_PER_IP", "0"),
        ("PASSWORD_HASH_SLOTS", "1"),
        ("PASSWORD_HASH_MAX_WAIT_MS", "0"),
    ])
    .await;
    let attempts = (0..12).map(|_| {
        let app = &app;
        async move {
            let response = app.register(&Person::new()).await;
            let retry_after = response.headers().contains_key("retry-after");
            (response.status().as_u16(), retry_after)
        }
    });
    let results = join_all(attempts).await;
    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 503),
        "{results:?}"
    );
    assert!(results.iter().any(|(s, _)| *s == 503), "{results:?}");
    assert!(results.iter().filter(|(s, _)| *s == 503).all(|(_, r)| *r));
}

#[tokio::test]
async fn mail_is_delivered_once_smtp_comes_back() {
    // Nothing listens there yet.
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("SMTP_URL", &url), ("EMAIL_RETRY_BASE_MS", "100")]).await;
    let person = Person::new();
    assert_eq!(app.register(&person).await.status(), 201);

    app.db_reaches(
        "select exists(select 1 from email_outbox where attempts >= 1 and last_error is not null)",
        "a failed delivery attempt",
    )
    .await;
    let status: String = sqlx::query_scalar("select status from email_outbox")
        .fetch_one(&app.pool)
        .await
        .expect("outbox");
    assert_eq!(status, "pending", "a refused connection is retried");

    let sink = MailSink::start_on(port).await;
    let mail = sink.wait_for(&person.email).await;
    assert_eq!(mail.code().len(), 4);
    // The worker records the delivery right after the SMTP server accepted it.
    app.outbox_reaches("sent").await;
    assert_eq!(sink.all().await.len(), 1);
}

#[tokio::test]
async fn a_code_that_expires_before_delivery_is_not_sent() {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    // Nothing listens yet, and a failed delivery is retried only minutes later.
    let app = spawn_app_with(&[("SMTP_URL", &url), ("EMAIL_RETRY_BASE_MS", "600000")]).await;
    let person = Person::new();
    assert_eq!(app.register(&person).await.status(), 201);
    // The first attempt failed, and nothing is being delivered now.
    app.db_reaches(
        "select exists(select 1 from email_outbox where attempts >= 1 and last_error is not null)",
        "a failed delivery attempt",
    )
    .await;
    // The code's minute passes: the code and its email expire, and the retry falls due.
    app.age_code(&person.email, 120.0).await;
    sqlx::query(
        "update email_outbox
         set expires_at = expires_at - interval '120 seconds', next_attempt_at = now()",
    )
    .execute(&app.pool)
    .await
    .expect("age the email");
    let sink = MailSink::start_on(port).await;
    app.worker.deliver_next().await.expect("a delivery step");
    let (body, _) = app.outbox_reaches("expired").await;
    assert_eq!(body, None, "the code does not linger");
    assert!(sink.all().await.is_empty());
}

#[tokio::test]
async fn permanent_smtp_failures_become_dead_letters() {
    let app = spawn_app().await;
    let mut person = Person::new();
    person.email = person.email.replace("ada.", "reject.");
    assert_eq!(app.register(&person).await.status(), 201);
    let (_, error) = app.outbox_reaches("dead").await;
    assert!(error.unwrap_or_default().contains("550"));
}

#[tokio::test]
async fn several_workers_never_send_a_message_twice() {
    // Twelve registrations at once queue for the hashing slots: a wait as long as a person would
    // give it, so none is turned away with a 503 however slow the machine.
    let app = spawn_app_with(&[
        ("RATE_LIMIT_REGISTER_PER_IP", "0"),
        ("PASSWORD_HASH_MAX_WAIT_MS", "120000"),
    ])
    .await;
    // Three more workers beside the app's own, all on the same outbox.
    let extra: Vec<_> = (0..3)
        .map(|_| tokio::spawn(app.worker.clone().run()))
        .collect();
    let people: Vec<Person> = (0..12).map(|_| Person::new()).collect();
    join_all(people.iter().map(|p| app.register(p))).await;
    for person in &people {
        app.mail.wait_for(&person.email).await;
    }
    // Every message delivered, each claimed once: a second worker taking one would have
    // counted a second attempt.
    app.outbox_settles().await;
    let attempts: Vec<i32> = sqlx::query_scalar("select attempts from email_outbox order by id")
        .fetch_all(&app.pool)
        .await
        .expect("attempts");
    assert_eq!(attempts, vec![1; people.len()]);
    // One more message, queued after all of those were delivered: once it is in, any second
    // copy of the earlier ones would be in too.
    let last = Person::new();
    assert_eq!(app.register(&last).await.status(), 201);
    app.mail.wait_for(&last.email).await;
    app.outbox_settles().await;
    for person in people.iter().chain([&last]) {
        assert_eq!(
            app.mail.to(&person.email).await.len(),
            1,
            "{}",
            person.email
        );
    }
    assert_eq!(app.mail.all().await.len(), people.len() + 1);
    extra.iter().for_each(|w| w.abort());
}

#[tokio::test]
async fn the_dev_mailbox_lists_mail_only_in_development_without_smtp() {
    let app = spawn_app_with(&[("SMTP_URL", "")]).await;
    let person = Person::new();
    assert_eq!(app.register(&person).await.status(), 201);
    // Handed to the dev mailbox: listed from then on.
    app.outbox_reaches("sent").await;
    let page = app.get("/dev/mailbox").await.text().await.expect("page");
    assert!(page.contains(&person.email), "{page}");
    assert!(page.contains("is your activation code"));
    assert!(page.contains("expires in one minute"));

    let with_smtp = spawn_app().await;
    assert_eq!(with_smtp.get("/dev/mailbox").await.status(), 404);
    // Production without SMTP_URL does not start (startup.rs).
}

#[tokio::test]
async fn housekeeping_purges_day_old_pending_registrations() {
    let app = spawn_app().await;
    let (stale, fresh, active) = (Person::new(), Person::new(), Person::new());
    for p in [&stale, &fresh] {
        app.register_and_get_code(p).await;
    }
    let code = app.register_and_get_code(&active).await;
    assert_eq!(app.activate(&active, &code).await.status(), 200);
    sqlx::query("update users set created_at = now() - interval '25 hours' where email <> $1")
        .bind(&fresh.email)
        .execute(&app.pool)
        .await
        .expect("age");
    server::maintenance::sweep(&app.pool, &Default::default())
        .await
        .expect("sweep");
    let mut left: Vec<String> = sqlx::query_scalar("select email from users")
        .fetch_all(&app.pool)
        .await
        .expect("users");
    left.sort();
    let mut expected = vec![fresh.email.clone(), active.email.clone()];
    expected.sort();
    assert_eq!(left, expected);
}

#[tokio::test]
async fn basic_auth_matches_the_email_case_insensitively() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let response = app
        .post_with_auth(
            "/api/activate",
            &basic(&person.email.to_uppercase(), &person.password),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_passwords_on_basic_auth_share_the_sign_in_limit() {
    let app = spawn_app().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let mut guesser = person.clone();
    guesser.password = "guessing the password".into();
    for _ in 0..5 {
        assert_eq!(app.activate(&guesser, &code).await.status(), 401);
    }
    // Even the right password is refused now, alike on every endpoint that checks one.
    let response = app.activate(&person, &code).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    let response = app.resend(&person).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    // Signing in counts against the same budget.
    let response = app.login(&person.email, &person.password).await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    let response = app
        .post_json(
            "/api/token",
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
}

/// HMAC-SHA256 (RFC 2104), written out: an independent check of how codes are stored.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = sha2::Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    sha2::Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// With `REGISTRATION_PREVENTS_ENUMERATION`, a registration whose email or phone is taken answers
/// as a free one does, creates and changes nothing, and tells the typed address by email.
#[tokio::test]
async fn with_enumeration_prevented_a_taken_email_or_phone_answers_like_a_free_one() {
    let app = spawn_app_with(&[
        ("REGISTRATION_PREVENTS_ENUMERATION", "true"),
        ("RATE_LIMIT_REGISTER_PER_IP", "0"),
        // The pending registration's code is used at the end, however slow the machine.
        ("ACTIVATION_CODE_TTL_SECS", "600"),
    ])
    .await;
    let owner = app.activated_person().await;
    let pending = Person::new();
    let pending_code = app.register_and_get_code(&pending).await;
    let users_before = app.user_count().await;
    let hashes_before: Vec<String> =
        sqlx::query_scalar("select password_hash from users order by id")
            .fetch_all(&app.pool)
            .await
            .expect("hashes");

    let shape = |answer: &serde_json::Value| {
        let mut keys: Vec<String> = answer
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let free = Person::new();
    let response = app.register(&free).await;
    assert_eq!(response.status(), 201);
    let free_answer = body(response).await;

    // The active owner's address, the pending one's, and a free address with a taken phone.
    let mut same_email = Person::new();
    same_email.email = owner.email.to_uppercase();
    let mut pending_email = Person::new();
    pending_email.email = pending.email.clone();
    let mut same_phone = Person::new();
    same_phone.phone_number = owner.phone_number.clone();
    for person in [&same_email, &pending_email, &same_phone] {
        let response = app.register(person).await;
        assert_eq!(response.status(), 201, "{}", person.email);
        let answer = body(response).await;
        assert_eq!(shape(&answer), shape(&free_answer));
        let user_id = answer["user_id"].as_str().expect("a user id");
        assert!(uuid::Uuid::parse_str(user_id).is_ok());
        assert_ne!(user_id, app.user_id(&owner.email).await.to_string());
        assert_ne!(user_id, app.user_id(&pending.email).await.to_string());
        assert_eq!(answer["code_expires_in"], free_answer["code_expires_in"]);
    }

    // Only the free registration made an account; nothing else changed.
    assert_eq!(app.user_count().await, users_before + 1);
    let hashes_after: Vec<String> = sqlx::query_scalar(
        "select password_hash from users where lower(email) <> lower($1) order by id",
    )
    .bind(&free.email)
    .fetch_all(&app.pool)
    .await
    .expect("hashes");
    assert_eq!(hashes_after, hashes_before, "no password replaced");
    assert_eq!(app.login(&owner.email, &owner.password).await.status(), 200);
    assert_eq!(
        app.activate(&pending, &pending_code).await.status(),
        200,
        "the pending registration is still its registrant's"
    );

    // One email each, to the address typed.
    let told = app
        .mail
        .wait_for_nth(&owner.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(
        told.subject(),
        "Someone tried to create an account with your address"
    );
    let told = app
        .mail
        .wait_for_nth(&pending.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(
        told.subject(),
        "Someone tried to create an account with your address"
    );
    let told = app.mail.wait_for(&same_phone.email).await;
    assert_eq!(told.subject(), "Your account was not created");
    assert!(
        told.text_body().contains("phone number"),
        "{}",
        told.text_body()
    );
    let activation = app.mail.wait_for(&free.email).await;
    assert_eq!(activation.code().len(), 4);
    app.outbox_settles().await;
    for (address, emails) in [
        (&owner.email, 2),
        (&pending.email, 2),
        (&same_phone.email, 1),
        (&free.email, 1),
    ] {
        assert_eq!(app.mail.to(address).await.len(), emails, "{address}");
    }
}
