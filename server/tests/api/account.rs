//! The signed-in account: sign-in, tokens, sessions, profile, password and history.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::{Person, TestApp, body, error_code, spawn_app, spawn_app_with};

/// Only the SHA-256 of a session cookie or bearer token is stored: exactly one session row has
/// it as its hash, and no row holds the token itself, as bytes or as text.
async fn assert_stored_only_as_its_hash(app: &TestApp, token: &str) {
    assert!(!token.is_empty(), "a token to look for");
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    let matching: i64 = sqlx::query_scalar("select count(*) from sessions where token_hash = $1")
        .bind(hash)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(
        matching, 1,
        "exactly one session stored under the token's SHA-256"
    );
    let holding_the_token: i64 = sqlx::query_scalar(
        "select count(*) from sessions s
         where position(convert_to($1, 'UTF8') in s.token_hash) > 0 or strpos(s::text, $1) > 0",
    )
    .bind(token)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(holding_the_token, 0, "a session row holds the token itself");
}

#[tokio::test]
async fn login_sets_a_session_cookie_and_returns_the_profile() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let response = app
        .login(&person.email.to_uppercase(), &person.password)
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    for part in ["session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let signed_in = body(response).await;
    assert_eq!(signed_in["user"]["email"], person.email.as_str());
    assert!(signed_in["user"]["email_verified_at"].is_string());

    // The cookie store sends it back.
    let profile = body(app.get("/api/profile").await).await;
    assert_eq!(profile["first_name"], "Ada");
    assert_eq!(
        profile["phone_number"],
        person.phone_number.replace(' ', "").as_str()
    );
    let keys: Vec<&String> = profile.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "created_at",
            "email",
            "email_verified_at",
            "first_name",
            "language",
            "last_name",
            "phone_display",
            "phone_number",
            "role",
            "second_factors",
            "user_id"
        ]
    );
    assert_eq!(profile["role"], "user");
    assert!(profile["language"].is_null(), "no language picked yet");
    assert_eq!(
        profile["second_factors"],
        serde_json::json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );
    // Only its hash is stored.
    let token = cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_string())
        .expect("value");
    assert_stored_only_as_its_hash(&app, &token).await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let wrong = body(app.login(&person.email, "not the password").await).await;
    let unknown = body(app.login("nobody@example.com", &person.password).await).await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"], "invalid_credentials");
    let response = app.login("nobody@example.com", "whatever it is").await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_pending_account_is_told_only_after_its_password_checks_out() {
    let app = spawn_app().await;
    let person = Person::new();
    app.register_and_get_code(&person).await;
    assert_eq!(
        error_code(app.login(&person.email, &person.password).await, 403).await,
        "not_activated"
    );
    assert_eq!(
        error_code(app.login(&person.email, "wrong password").await, 401).await,
        "invalid_credentials"
    );
}

#[tokio::test]
async fn the_sixth_failure_in_five_minutes_is_429_for_known_and_unknown_emails() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    for email in [person.email.as_str(), "nobody@example.com"] {
        for _ in 0..5 {
            assert_eq!(
                error_code(app.login(email, "wrong password").await, 401).await,
                "invalid_credentials"
            );
        }
        let response = app.login(email, &person.password).await;
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(error_code(response, 429).await, "too_many_attempts");
    }
    let failed: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'login_failed'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(failed, 5);
}

#[tokio::test]
async fn sign_ins_are_capped_per_ip() {
    // Three password checks a minute from one address: the activation spends one (activation,
    // resend and sign-in share the budget), the two sign-ins the rest.
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_IP", "3")]).await;
    let person = app.activated_person().await;
    for _ in 0..2 {
        assert_eq!(
            app.login(&person.email, &person.password).await.status(),
            200
        );
    }
    assert_eq!(
        error_code(app.login(&person.email, &person.password).await, 429).await,
        "too_many_attempts"
    );
}

#[tokio::test]
async fn a_token_works_until_logout() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let response = app
        .post_json(
            "/api/token",
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(!response.headers().contains_key("set-cookie"));
    let issued = body(response).await;
    let token = issued["token"].as_str().expect("token").to_string();
    assert!(token.len() >= 43, "32 random bytes");
    assert!(
        chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().expect("time")).is_ok()
    );
    assert_stored_only_as_its_hash(&app, &token).await;

    let profile = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(profile.status(), 200);
    let out = app
        .bearer(Method::POST, "/api/logout", &token)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(out.status(), 200);
    let after = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(after, 401).await, "unauthenticated");
}

#[tokio::test]
async fn logout_revokes_the_cookie_session() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    app.login(&person.email, &person.password).await;
    assert_eq!(app.get("/api/profile").await.status(), 200);
    let out = app.post_json("/api/logout", &json!({})).await;
    assert_eq!(out.status(), 200);
    assert!(
        out.headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(
        error_code(app.get("/api/profile").await, 401).await,
        "unauthenticated"
    );
    assert_eq!(app.user_count().await, 1);
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn every_account_endpoint_needs_a_session() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    // The endpoints come from the OpenAPI document, not from a list kept here: every operation
    // whose security asks for a session or token (an empty requirement, `{}`, makes it optional)
    // refuses a caller without one, so a new endpoint is checked without anyone remembering to.
    let document = body(app.get("/api/openapi.json").await).await;
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let requirements = operation["security"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let needs_session = !requirements.is_empty()
                && requirements
                    .iter()
                    .all(|r| r.get("session").is_some() || r.get("bearer").is_some());
            if !needs_session {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let mut request = anonymous.request(method.clone(), app.url(path));
            if method == Method::POST {
                request = request.json(&json!({}));
            }
            let response = request.send().await.expect("request");
            assert_eq!(
                error_code(response, 401).await,
                "unauthenticated",
                "{method} {path}"
            );
            let garbage = anonymous
                .request(method.clone(), app.url(path))
                .bearer_auth("not-a-token")
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            assert_eq!(
                garbage.status(),
                401,
                "{method} {path} with a made-up token"
            );
            checked.push(format!("{method} {path}"));
        }
    }
    // The document is not empty of them: the account, orders and administration all need one.
    for expected in [
        "GET /api/profile",
        "POST /api/logout",
        "POST /api/place-order",
        "GET /api/admin/users",
        "GET /api/admin/webhooks",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} in {checked:?}"
        );
    }
}

#[tokio::test]
async fn cookies_from_other_sites_are_refused_but_bearer_tokens_are_not() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    app.login(&person.email, &person.password).await;
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = app
            .client
            .get(app.url("/api/profile"))
            .header(header, value)
            .send()
            .await
            .expect("request");
        assert_eq!(error_code(response, 403).await, "forbidden", "{header}");
        let response = app
            .client
            .post(app.url("/api/update-profile"))
            .header(header, value)
            .json(&json!({"first_name": "Mallory"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403);
    }
    let same_origin = app
        .client
        .get(app.url("/api/profile"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("request");
    assert_eq!(body(same_origin).await["first_name"], "Ada");
    let token = app.token(&person).await;
    let bearer = app
        .bearer(Method::GET, "/api/profile", &token)
        .header("origin", "https://elsewhere.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200);
}

#[tokio::test]
async fn current_user_is_null_for_anonymous_and_cross_site_callers() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let anonymous = reqwest::Client::new()
        .get(app.url("/api/current-user"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 200);
    assert_eq!(body(anonymous).await, Value::Null);

    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let signed_in = app.get("/api/current-user").await;
    assert_eq!(signed_in.status(), 200);
    let profile = body(signed_in).await;
    assert_eq!(profile["email"], person.email.as_str());
    assert_eq!(profile["first_name"], "Ada");
    assert_eq!(profile, body(app.get("/api/profile").await).await);

    // The cookie sent from another site: signed out, not an error.
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let response = app
            .client
            .get(app.url("/api/current-user"))
            .header(header, value)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{header}");
        assert_eq!(body(response).await, Value::Null, "{header}");
    }
}

#[tokio::test]
async fn current_user_with_a_bearer_token_is_the_tokens_owner() {
    let app = spawn_app().await;
    let cookie_person = app.activated_person().await;
    let token_person = app.activated_person().await;
    app.login(&cookie_person.email, &cookie_person.password)
        .await;
    let token = app.token(&token_person).await;
    let response = app
        .bearer(Method::GET, "/api/current-user", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let profile = body(response).await;
    assert_eq!(profile["email"], token_person.email.as_str());
    assert!(profile["user_id"].is_string(), "{profile}");
}

#[tokio::test]
async fn the_account_page_sends_anonymous_visitors_to_sign_in() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    // As a browser asks for a page (Leptos answers a 302 only to requests that accept HTML;
    // others get the `Location` alone).
    let response = no_redirects
        .get(app.url("/account"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 302);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/login?next=/account")
    );

    // Signed in, the page itself.
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let page = app
        .client
        .get(app.url("/account"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("a page");
    assert!(
        html.contains(&person.email),
        "the signed-in page shows the account"
    );
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    sqlx::query("update sessions set last_seen_at = now() - interval '31 minutes'")
        .execute(&app.pool)
        .await
        .expect("age");
    let response = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);

    let fresh = app.token(&person).await;
    sqlx::query("update sessions set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("end");
    let response = app
        .bearer(Method::GET, "/api/profile", &fresh)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn update_profile_changes_only_the_allowed_fields() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let update = |changes: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            app.bearer(Method::POST, "/api/update-profile", &token)
                .json(&changes)
                .send()
                .await
                .expect("request")
        }
    };
    let response =
        update(json!({"first_name": "  Augusta ", "phone_number": "020 7946 0000"})).await;
    assert_eq!(response.status(), 200);
    let profile = body(response).await;
    assert_eq!(profile["first_name"], "Augusta");
    assert_eq!(profile["last_name"], "Lovelace");
    assert_eq!(profile["phone_number"], "+442079460000");
    assert_eq!(profile["phone_display"], "+44 20 7946 0000");

    for key in [
        "email",
        "user_id",
        "email_verified_at",
        "password_hash",
        "status",
    ] {
        let response = update(json!({"first_name": "Eve", key: "x"})).await;
        assert_eq!(response.status(), 422, "{key}");
        let error = body(response).await;
        assert_eq!(
            (error["error"].as_str(), error["field"].as_str()),
            (Some("invalid"), Some(key))
        );
    }
    let error = body(update(json!({"last_name": ""})).await).await;
    assert_eq!(error["field"], "last_name");
    let error = body(update(json!({"first_name": 5})).await).await;
    assert_eq!(error["field"], "first_name");
    for malformed in [json!([]), json!("Augusta"), json!(null)] {
        assert_eq!(
            error_code(update(malformed.clone()).await, 422).await,
            "invalid",
            "{malformed}"
        );
    }

    let other = app.activated_person().await;
    let response = update(json!({"phone_number": other.phone_number})).await;
    assert_eq!(error_code(response, 409).await, "phone_taken");

    let profile = body(
        app.bearer(Method::GET, "/api/profile", &token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        profile["first_name"], "Augusta",
        "nothing of the refused updates applied"
    );
    assert_eq!(profile["email"], person.email.as_str());
}

#[tokio::test]
async fn changing_the_password_revokes_every_other_session_and_sends_a_notice() {
    let app = spawn_app().await;
    let mut person = app.activated_person().await;
    let (mine, other) = (app.token(&person).await, app.token(&person).await);
    let change = |current: &str, new: &str| {
        app.bearer(Method::POST, "/api/change-password", &mine)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let response = change("wrong password", "a brand new password")
        .await
        .expect("request");
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    let response = change(&person.password, "short").await.expect("request");
    assert_eq!(body(response).await["field"], "new_password");

    let response = change(&person.password, "a brand new password")
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let gone = app
        .bearer(Method::GET, "/api/profile", &other)
        .send()
        .await
        .expect("request");
    assert_eq!(
        gone.status(),
        401,
        "the other token stopped working at once"
    );
    let still = app
        .bearer(Method::GET, "/api/profile", &mine)
        .send()
        .await
        .expect("request");
    assert_eq!(still.status(), 200);

    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        401
    );
    person.password = "a brand new password".into();
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let notice = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(notice.subject(), "Your password was changed");
}

#[tokio::test]
async fn sessions_are_listed_and_revocable() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    app.login(&person.email, &person.password).await;
    let token = app.token(&person).await;
    let list = body(app.get("/api/sessions").await).await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 2);
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["kind"], "cookie");
    let other = list
        .iter()
        .find(|s| s["current"] == false)
        .expect("the token");
    assert_eq!(other["kind"], "bearer");
    assert_eq!(other["ip"], "127.0.0.1");

    let revoke = |id: Value| {
        let app = &app;
        async move {
            app.post_json("/api/revoke-session", &json!({"session_id": id}))
                .await
        }
    };
    assert_eq!(revoke(other["session_id"].clone()).await.status(), 200);
    let response = app
        .bearer(Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(
        error_code(revoke(other["session_id"].clone()).await, 404).await,
        "not_found"
    );
    assert_eq!(
        error_code(revoke(json!("not-a-uuid")).await, 422).await,
        "invalid"
    );

    // Someone else's session is not ours to revoke.
    let stranger = app.activated_person().await;
    let stranger_token = app.token(&stranger).await;
    let theirs = body(
        app.bearer(Method::GET, "/api/sessions", &stranger_token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    let theirs = theirs[0]["session_id"].clone();
    assert_eq!(revoke(theirs).await.status(), 404);
    let response = app
        .bearer(Method::GET, "/api/profile", &stranger_token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_security_history_is_newest_first_and_pages() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    app.login(&person.email, "wrong password").await;
    app.login(&person.email, &person.password).await;
    let events = body(app.get("/api/security-events").await).await;
    let kinds: Vec<&str> = events
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "login_succeeded",
            "login_failed",
            "activated",
            "code_sent",
            "registered"
        ]
    );
    assert_eq!(events[0]["ip"], "127.0.0.1");
    assert!(events[0]["created_at"].is_string());

    let page = body(app.get("/api/security-events?limit=2&offset=1").await).await;
    let kinds: Vec<&str> = page
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["login_failed", "activated"]);
    assert_eq!(
        error_code(app.get("/api/security-events?limit=0").await, 422).await,
        "invalid"
    );
    assert_eq!(
        error_code(app.get("/api/security-events?limit=many").await, 422).await,
        "invalid"
    );
}

#[tokio::test]
async fn token_issue_has_the_sign_in_errors() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = |email: String, password: String| {
        let app = &app;
        async move {
            app.post_json("/api/token", &json!({"email": email, "password": password}))
                .await
        }
    };
    let response = token(person.email.clone(), "wrong password".into()).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    let pending = Person::new();
    app.register_and_get_code(&pending).await;
    let response = token(pending.email.clone(), pending.password.clone()).await;
    assert_eq!(error_code(response, 403).await, "not_activated");
    for _ in 0..4 {
        token(person.email.clone(), "wrong password".into()).await;
    }
    let response = token(person.email.clone(), person.password.clone()).await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    let response = app.post_json("/api/token", &json!({"email": 5})).await;
    assert_eq!(error_code(response, 422).await, "invalid");
}

#[tokio::test]
async fn a_link_followed_from_another_site_keeps_the_person_signed_in() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    // A link in a webmail: the browser sends the SameSite=Lax cookie with a top-level
    // navigation, and the page changes nothing, so the person stays signed in.
    let page = app
        .client
        .get(app.url("/account"))
        .header("accept", "text/html")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("a page").contains(&person.email));
    // Another site's script asking who is signed in learns nothing.
    let response = app
        .client
        .get(app.url("/api/current-user"))
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "cors")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, Value::Null);
}

#[tokio::test]
async fn an_email_longer_than_any_address_is_only_wrong_credentials() {
    let app = spawn_app().await;
    // 15,000 varied CJK characters (45 KB): nothing Postgres could compress under its index
    // row limit, were it used as a key as it is.
    let email: String = (0..15_000u32)
        .map(|i| char::from_u32(0x4e00 + (i * 7919) % 20_000).unwrap_or('x'))
        .collect();
    for _ in 0..5 {
        let response = app.login(&email, "some password").await;
        assert_eq!(error_code(response, 401).await, "invalid_credentials");
    }
    // The failures were counted under that address all the same.
    let response = app.login(&email, "some password").await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    let response = app
        .post_json(
            "/api/reset-password",
            &json!({"email": email, "code": "0000000000", "new_password": "correct horse battery"}),
        )
        .await;
    assert_eq!(error_code(response, 410).await, "code_expired");
}

/// Asks for the signed-in page `path` while the accounts table is locked, so the page starts
/// rendering before the server knows who is signed in; once a query waits for the lock, lets go.
/// The page must still come out whole (`marker` in it), as it does when the lookup is quick: a
/// page rendered before the person was known would go out empty, and the browser, which gets the
/// person with the page, would then fail to hydrate it.
async fn renders_once_the_person_is_known(app: &TestApp, path: &str, marker: &str) {
    // The language cookie spares the language middleware its own lookup: the page's is the one
    // held.
    let switched = app.get("/language?set=en&back=/").await;
    assert_eq!(
        switched.status(),
        303,
        "the switcher remembers the language"
    );
    let mut lock = app.pool.begin().await.expect("begin");
    sqlx::query("lock table users in access exclusive mode")
        .execute(&mut *lock)
        .await
        .expect("lock the accounts");
    let page = tokio::spawn(
        app.client
            .get(app.url(path))
            .header("accept", "text/html")
            .send(),
    );
    app.db_reaches(
        "select exists(select 1 from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock')",
        "a query waiting for the accounts",
    )
    .await;
    lock.rollback().await.expect("let go");
    let page = page.await.expect("the request task").expect("request");
    assert_eq!(page.status(), 200, "{path}");
    let html = page.text().await.expect("a page");
    assert!(
        html.contains(marker),
        "{path} rendered without its content (no `{marker}`):\n{html}"
    );
}

#[tokio::test]
async fn a_signed_in_page_waits_for_the_person_before_it_renders() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    renders_once_the_person_is_known(&app, "/account", r#"<section class="account""#).await;
    renders_once_the_person_is_known(&app, "/orders", r#"<section class="orders""#).await;

    // Signing in as an administrator replaces the cookie.
    let (admin, _) = app.admin().await;
    assert_eq!(app.login(&admin.email, &admin.password).await.status(), 200);
    renders_once_the_person_is_known(&app, "/admin", r#"<section class="admin""#).await;
}
