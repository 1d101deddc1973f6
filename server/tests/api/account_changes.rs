//! Email change, password reset, export and deletion.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, body, error_code, other_code, spawn_app};

async fn post(app: &TestApp, token: &str, path: &str, payload: Value) -> reqwest::Response {
    app.bearer(Method::POST, path, token)
        .json(&payload)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn the_email_changes_only_once_the_new_address_confirms() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let new_email = Person::new().email;

    let wrong = post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": new_email, "password": "nope nope"}),
    )
    .await;
    assert_eq!(error_code(wrong, 401).await, "invalid_credentials");
    let bad = post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": "nope", "password": person.password}),
    )
    .await;
    assert_eq!(body(bad).await["field"], "new_email");

    let response = post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": new_email, "password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"code_expires_in": 60}));
    let code = app.mail.wait_for(&new_email).await.code();
    let notice = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        notice.subject().contains("about to change"),
        "{}",
        notice.subject()
    );

    // Nothing changed yet.
    let profile = body(
        app.bearer(Method::GET, "/api/profile", &token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(profile["email"], person.email.as_str());

    let again = post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": new_email, "password": person.password}),
    )
    .await;
    assert_eq!(error_code(again, 429).await, "resend_too_soon");

    let wrong_code = other_code(&code, 1);
    let response = post(
        &app,
        &token,
        "/api/confirm-email",
        json!({"code": wrong_code}),
    )
    .await;
    assert_eq!(response.status(), 422);
    let error = body(response).await;
    assert_eq!(
        (error["error"].as_str(), error["attempts_left"].as_u64()),
        (Some("invalid_code"), Some(4))
    );

    let response = post(&app, &token, "/api/confirm-email", json!({"code": code})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["email"], new_email.as_str());
    assert_eq!(app.login(&new_email, &person.password).await.status(), 200);
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        401
    );
}

#[tokio::test]
async fn a_taken_address_conflicts_before_and_after_the_code() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let other = app.activated_person().await;
    let token = app.token(&person).await;
    let response = post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": other.email.to_uppercase(), "password": person.password}),
    )
    .await;
    assert_eq!(error_code(response, 409).await, "email_taken");

    // Free when asked, taken by a registration before the code is entered.
    let wanted = Person::new();
    post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": wanted.email, "password": person.password}),
    )
    .await;
    let code = app.mail.wait_for(&wanted.email).await.code();
    assert_eq!(app.register(&wanted).await.status(), 201);
    let response = post(&app, &token, "/api/confirm-email", json!({"code": code})).await;
    assert_eq!(error_code(response, 409).await, "email_taken");
}

#[tokio::test]
async fn an_expired_or_burned_email_change_code_is_refused() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let new_email = Person::new().email;
    post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": new_email, "password": person.password}),
    )
    .await;
    let code = app.mail.wait_for(&new_email).await.code();
    let wrong = other_code(&code, 7);
    for left in (0..5).rev() {
        let response = post(&app, &token, "/api/confirm-email", json!({"code": wrong})).await;
        assert_eq!(response.status(), 422);
        assert_eq!(body(response).await["attempts_left"], left);
    }
    // Used up: even the right code no longer works.
    let response = post(&app, &token, "/api/confirm-email", json!({"code": code})).await;
    assert_eq!(error_code(response, 410).await, "code_used_up");

    app.age_code(&person.email, 120.0).await;
    sqlx::query("update one_time_codes set attempts = 0")
        .execute(&app.pool)
        .await
        .expect("reset attempts");
    let response = post(&app, &token, "/api/confirm-email", json!({"code": code})).await;
    assert_eq!(error_code(response, 410).await, "code_expired");
}

async fn reset_code(app: &TestApp, email: &str, nth: usize) -> String {
    let response = app
        .post_json("/api/request-password-reset", &json!({"email": email}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"ok": true}));
    app.mail
        .wait_for_nth(email, nth, crate::smtp::MAIL_WITHIN)
        .await
        .code()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_emailed_code() {
    let app = spawn_app().await;
    let mut person = app.activated_person().await;
    let token = app.token(&person).await;
    let code = reset_code(&app, &person.email.to_uppercase(), 2).await;

    let reset = |code: String, password: &'static str| {
        let app = &app;
        let email = person.email.clone();
        async move {
            app.post_json(
                "/api/reset-password",
                &json!({"email": email, "code": code, "new_password": password}),
            )
            .await
        }
    };
    let wrong = other_code(&code, 1);
    let error = body(reset(wrong, "a fresh new password").await).await;
    assert_eq!(
        (error["error"].as_str(), error["attempts_left"].as_u64()),
        (Some("invalid_code"), Some(4))
    );
    let error = body(reset(code.clone(), "short").await).await;
    assert_eq!(error["field"], "new_password");

    assert_eq!(
        reset(code.clone(), "a fresh new password").await.status(),
        200
    );
    let response = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401, "every session revoked");
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        401
    );
    person.password = "a fresh new password".into();
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    assert_eq!(
        error_code(reset(code, "another new password").await, 410).await,
        "code_expired"
    );
}

#[tokio::test]
async fn a_reset_for_an_unknown_address_answers_like_a_known_one() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let pending = Person::new();
    app.register_and_get_code(&pending).await;
    let unknown = "nobody@example.com";
    for email in [unknown, pending.email.as_str(), person.email.as_str()] {
        let response = app
            .post_json("/api/request-password-reset", &json!({"email": email}))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(body(response).await, json!({"ok": true}));
    }
    // The work happens after the answer. Every address asked for gets its reset row in the same
    // transaction as any email it sends: once all three rows are there, whatever those requests
    // queued is in the outbox, and once the outbox is delivered, the sink has all of it.
    app.db_reaches(
        "select count(*) = 3 from one_time_codes where purpose = 'password_reset'",
        "a reset row for each address asked for",
    )
    .await;
    app.outbox_settles().await;
    let code = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await
        .code();
    assert!(app.mail.to(unknown).await.is_empty());
    assert_eq!(
        app.mail.to(&pending.email).await.len(),
        1,
        "no reset code for a pending account"
    );

    // Trying a code looks the same too. The guess is wrong for the known address (it is not the
    // emailed code); for the unknown one, whose code nobody knows, the stored hash is replaced by
    // one that no code has, so the guess cannot match by luck either.
    sqlx::query(
        "update one_time_codes set code_hash = decode(repeat('00', 32), 'hex')
         where purpose = 'password_reset' and subject = $1",
    )
    .bind(unknown)
    .execute(&app.pool)
    .await
    .expect("a hash no code matches");
    let guess = other_code(&code, 1);
    let mut answers = Vec::new();
    for email in [unknown, person.email.as_str()] {
        let response = app
            .post_json(
                "/api/reset-password",
                &json!({"email": email, "code": guess, "new_password": "a fresh new password"}),
            )
            .await;
        assert_eq!(response.status(), 422, "{email}");
        let error = body(response).await;
        assert_eq!(
            (error["error"].as_str(), error["attempts_left"].as_u64()),
            (Some("invalid_code"), Some(4)),
            "{email}: {error}"
        );
        answers.push(error);
    }
    assert_eq!(
        answers[0], answers[1],
        "the same answer, known address or not"
    );
    assert_eq!(
        error_code(
            app.post_json(
                "/api/request-password-reset",
                &json!({"email": "not an email"})
            )
            .await,
            422
        )
        .await,
        "invalid"
    );
}

#[tokio::test]
async fn the_export_has_everything_and_no_secrets() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let response = app
        .bearer(Method::GET, "/api/export-account", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    let export: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(export["profile"]["email"], person.email.as_str());
    assert_eq!(export["sessions"].as_array().map(Vec::len), Some(1));
    assert!(
        export["security_events"]
            .as_array()
            .is_some_and(|e| e.len() >= 4)
    );
    for secret in ["argon2", "password", &token, "code_hash", "token_hash"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn deleting_the_account_frees_its_email_and_phone() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let response = post(
        &app,
        &token,
        "/api/delete-account",
        json!({"password": "wrong password"}),
    )
    .await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");

    let response = post(
        &app,
        &token,
        "/api/delete-account",
        json!({"password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        401
    );
    let goodbye = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(goodbye.subject(), "Your account was deleted");
    for table in ["users", "sessions", "security_events", "one_time_codes"] {
        let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&app.pool)
            .await
            .expect("count");
        assert_eq!(rows, 0, "{table}");
    }
    // The address and the number are free again.
    assert_eq!(app.register(&person).await.status(), 201);
}

#[tokio::test]
async fn five_wrong_reset_codes_burn_it() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let code = reset_code(&app, &person.email, 2).await;
    let wrong = other_code(&code, 3);
    for left in (0..5).rev() {
        let response = app
            .post_json("/api/reset-password", &json!({"email": person.email, "code": wrong, "new_password": "a fresh new password"}))
            .await;
        assert_eq!(body(response).await["attempts_left"], left);
    }
    // Used up: even the right code no longer works.
    let response = app
        .post_json(
            "/api/reset-password",
            &json!({"email": person.email, "code": code, "new_password": "a fresh new password"}),
        )
        .await;
    assert_eq!(error_code(response, 410).await, "code_used_up");
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
}
