//! Administration over HTTP and the `server` subcommands through the real binary: every
//! endpoint's statuses and codes, and the audit row each act leaves.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, body, error_code, spawn_app};

impl TestApp {
    async fn admin_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.bearer(Method::GET, path, token)
            .send()
            .await
            .expect("GET request")
    }

    async fn admin_post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.bearer(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("POST request")
    }

    /// The newest audit rows, as the audit-log endpoint's items.
    async fn audit_rows(&self, token: &str) -> Vec<Value> {
        let response = self.admin_get(token, "/api/admin/audit-log").await;
        assert_eq!(response.status(), 200);
        body(response).await["items"]
            .as_array()
            .expect("items")
            .clone()
    }

    async fn status_of(&self, email: &str) -> String {
        sqlx::query_scalar("select status from users where lower(email) = lower($1)")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .expect("the account exists")
    }

    async fn events_of(&self, email: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select e.kind from security_events e join users u on u.id = e.user_id
             where lower(u.email) = lower($1) order by e.id",
        )
        .bind(email)
        .fetch_all(&self.pool)
        .await
        .expect("the history")
    }
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_admin_makes_an_active_administrator_and_records_it() {
    let app = spawn_app().await;
    let person = Person::new();
    let run = app.create_admin(&person, &person.password).await;
    assert!(run.success, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    assert!(run.stdout.contains(&person.email), "{run:?}");
    assert!(!run.stdout.contains(&person.password) && !run.stderr.contains(&person.password));

    // Active at once: it signs in and reaches the administrators' endpoints.
    let token = app.token(&person).await;
    let response = app.admin_get(&token, "/api/admin/users").await;
    assert_eq!(response.status(), 200);
    let rows = app.audit_rows(&token).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "admin_created");
    assert_eq!(rows[0]["actor_kind"], "command_line");
    assert_eq!(rows[0]["actor_id"], Value::Null);
    assert_eq!(rows[0]["target_email"], person.email);
    // No email was queued: the operator vouches for the address.
    let queued: i64 = sqlx::query_scalar("select count(*) from email_outbox")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn create_admin_applies_the_registration_rules() {
    let app = spawn_app().await;
    let taken = app.activated_person().await;
    let fresh = Person::new();

    let mut same_email = Person::new();
    same_email.email = taken.email.to_uppercase();
    let run = app.create_admin(&same_email, &same_email.password).await;
    assert!(!run.success);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run:?}");
    assert!(run.stderr.contains("email"), "{run:?}");

    let mut same_phone = Person::new();
    same_phone.phone_number = taken.phone_number.clone();
    let run = app.create_admin(&same_phone, &same_phone.password).await;
    assert!(!run.success);
    assert!(run.stderr.contains("phone_number"), "{run:?}");

    let run = app.create_admin(&fresh, "password").await;
    assert!(!run.success);
    assert!(run.stderr.starts_with("error: password:"), "{run:?}");

    let mut bad = Person::new();
    bad.phone_number = "12".into();
    let run = app.create_admin(&bad, &bad.password).await;
    assert!(!run.success);
    assert!(run.stderr.contains("phone_number"), "{run:?}");

    // Never from an argument.
    let run = app
        .cli(
            &[
                "create-admin",
                "--email",
                "x@example.com",
                "--password",
                "hunter2 hunter2",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("never an argument"), "{run:?}");

    let admins: i64 = sqlx::query_scalar("select count(*) from users where role = 'admin'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(admins, 0, "no failed run left an administrator behind");
}

#[tokio::test]
async fn promote_and_demote_change_roles_but_never_the_last_administrator() {
    let app = spawn_app().await;
    let (first, token) = app.admin().await;
    let other = app.activated_person().await;

    let run = app.cli(&["promote", "--email", &other.email], "").await;
    assert!(run.success, "{run:?}");
    assert!(run.stdout.contains("admin"), "{run:?}");
    let run = app
        .cli(&["promote", "--email", "nobody@example.com"], "")
        .await;
    assert!(!run.success, "{run:?}");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run:?}");

    let run = app.cli(&["demote", "--email", &other.email], "").await;
    assert!(run.success, "{run:?}");
    let run = app.cli(&["demote", "--email", &first.email], "").await;
    assert!(!run.success, "{run:?}");
    assert!(run.stderr.contains("last administrator"), "{run:?}");

    let rows = app.audit_rows(&token).await;
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["details"]["to"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("role_changed", "user"),
            ("role_changed", "admin"),
            ("admin_created", "")
        ]
    );
    assert!(rows.iter().all(|r| r["actor_kind"] == "command_line"));
}

// ---------------------------------------------------------------------------------------------
// Who may call
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_admin_endpoint_is_for_administrators_only() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let person = app.activated_person().await;
    let user = app.token(&person).await;
    let target = app.activated_person().await;
    let id = app.user_id(&target.email).await.to_string();

    let gets = [
        "/api/admin/users".to_string(),
        format!("/api/admin/user?id={id}"),
        "/api/admin/audit-log".to_string(),
        "/api/admin/outbox".to_string(),
    ];
    let posts = [
        (
            "/api/admin/set-role",
            json!({"user_id": id, "role": "user"}),
        ),
        ("/api/admin/resend-activation", json!({"user_id": id})),
        ("/api/admin/retry-email", json!({"id": 999_999})),
        (
            "/api/admin/disable-user",
            json!({"user_id": id, "reason": "spam"}),
        ),
        ("/api/admin/enable-user", json!({"user_id": id})),
        ("/api/admin/delete-user", json!({"user_id": id})),
    ];
    let anonymous = reqwest::Client::new();
    for path in &gets {
        let response = anonymous.get(app.url(path)).send().await.expect("GET");
        assert_eq!(error_code(response, 401).await, "unauthenticated", "{path}");
        let response = app.admin_get(&user, path).await;
        assert_eq!(error_code(response, 403).await, "forbidden", "{path}");
        let response = app.admin_get(&admin, path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    for (path, body) in &posts {
        let response = anonymous
            .post(app.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        assert_eq!(error_code(response, 401).await, "unauthenticated", "{path}");
        let response = app.admin_post(&user, path, body).await;
        assert_eq!(error_code(response, 403).await, "forbidden", "{path}");
    }
    // Nothing the plain user asked for happened.
    assert_eq!(app.status_of(&target.email).await, "active");
    // The administrator's calls, in an order where each one applies.
    let expected = [
        ("/api/admin/set-role", 200),
        ("/api/admin/resend-activation", 409),
        ("/api/admin/retry-email", 404),
        ("/api/admin/disable-user", 200),
        ("/api/admin/enable-user", 200),
        ("/api/admin/delete-user", 200),
    ];
    for ((path, body), (expected_path, status)) in posts.iter().zip(expected) {
        assert_eq!(*path, expected_path);
        let response = app.admin_post(&admin, path, body).await;
        assert_eq!(response.status(), status, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Finding people
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn users_are_found_by_name_email_or_phone_in_any_format() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let mut grace = Person::new();
    grace.first_name = "Grace".into();
    grace.last_name = "Hopper".into();
    grace.phone_number = "+44 20 7946 0958".into();
    let code = app.register_and_get_code(&grace).await;
    assert_eq!(app.activate(&grace, &code).await.status(), 200);
    let pending = Person::new();
    app.register_and_get_code(&pending).await;

    let find = |q: &str| {
        let path = format!("/api/admin/users?q={}", urlencode(q));
        let app = &app;
        let token = &token;
        async move {
            let response = app.admin_get(token, &path).await;
            assert_eq!(response.status(), 200, "{path}");
            let page = body(response).await;
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|u| u["email"].as_str().expect("email").to_string())
                .collect::<Vec<_>>()
        }
    };
    for q in [
        "grace",
        "HOPPER",
        &grace.email,
        &grace.email.to_uppercase(),
        "hopper grace",
        &grace.email[..10],
        "020 7946 0958",
        "+442079460958",
        "7946 0958",
        "(0)20-7946",
    ] {
        assert_eq!(find(q).await, [grace.email.clone()], "q = {q}");
    }
    assert!(find("grace nobody").await.is_empty());
    assert!(find("%").await.is_empty(), "% is matched literally");

    let response = app
        .admin_get(&token, "/api/admin/users?status=pending")
        .await;
    let page = body(response).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["total_exact"], true);
    assert_eq!(page["items"][0]["email"], pending.email);
    assert_eq!(page["items"][0]["status"], "pending");
    assert_eq!(page["items"][0]["last_login_at"], Value::Null);

    let response = app.admin_get(&token, "/api/admin/users?role=admin").await;
    let page = body(response).await;
    assert_eq!(page["total"], 1);
    assert!(page["items"][0]["last_login_at"].is_string(), "{page}");

    // Newest first by default, three in all, one per page.
    let response = app
        .admin_get(&token, "/api/admin/users?limit=1&offset=1&sort=oldest")
        .await;
    let page = body(response).await;
    assert_eq!(
        (page["total"].as_i64(), page["limit"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(page["items"][0]["email"], grace.email);
    let response = app.admin_get(&token, "/api/admin/users").await;
    let page = body(response).await;
    assert_eq!(page["items"][0]["email"], pending.email);

    for (query, field) in [
        ("status=asleep", "status"),
        ("role=root", "role"),
        ("sort=random", "sort"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("q=ada%00", "q"),
    ] {
        let response = app
            .admin_get(&token, &format!("/api/admin/users?{query}"))
            .await;
        assert_eq!(response.status(), 422, "{query}");
        let error = body(response).await;
        assert_eq!(error["error"], "invalid");
        assert_eq!(error["field"], field, "{query}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_users_page_shows_sessions_and_history() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let person = app.activated_person().await;
    let id = app.user_id(&person.email).await;
    app.token(&person).await;
    app.token(&person).await;

    let response = app
        .admin_get(&token, &format!("/api/admin/user?id={id}"))
        .await;
    assert_eq!(response.status(), 200);
    let user = body(response).await;
    assert_eq!(user["user_id"], id.to_string());
    assert_eq!(user["status"], "active");
    assert_eq!(user["role"], "user");
    assert_eq!(user["sessions"]["count"], 2);
    assert!(user["sessions"]["last_used_at"].is_string());
    let kinds: Vec<&str> = user["security_events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds[0], "login_succeeded");
    assert_eq!(kinds.last(), Some(&"registered"));

    let response = app
        .admin_get(
            &token,
            &format!("/api/admin/user?id={}", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = app.admin_get(&token, "/api/admin/user?id=nope").await;
    assert_eq!(error_code(response, 422).await, "invalid");
}

// ---------------------------------------------------------------------------------------------
// Disabling and enabling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_disabled_account_is_out_everywhere_at_once() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let person = app.activated_person().await;
    let id = app.user_id(&person.email).await.to_string();
    let their_token = app.token(&person).await;
    // Their browser session, in its own cookie jar.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let response = browser
        .post(app.url("/api/login"))
        .json(&json!({"email": person.email, "password": person.password}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200);

    let response = app
        .admin_post(
            &token,
            "/api/admin/disable-user",
            &json!({"user_id": id, "reason": "Sent spam to other members"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["status"], "disabled");

    let response = app
        .bearer(Method::GET, "/api/profile", &their_token)
        .send()
        .await
        .expect("GET");
    assert_eq!(error_code(response, 401).await, "unauthenticated");
    let response = browser
        .get(app.url("/api/profile"))
        .send()
        .await
        .expect("GET");
    assert_eq!(error_code(response, 401).await, "unauthenticated");
    let live: i64 = sqlx::query_scalar("select count(*) from sessions where user_id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(live, 0);

    let response = app.login(&person.email, &person.password).await;
    let error = body(response).await;
    assert_eq!(error["error"], "account_disabled");
    assert!(
        !error.to_string().contains("spam"),
        "the reason is not shown"
    );
    let response = app
        .post_json(
            "/api/token",
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(error_code(response, 403).await, "account_disabled");
    // A password reset sends nothing; the address stays taken.
    let sent_before = app.mail.to(&person.email).await.len();
    let response = app
        .post_json(
            "/api/request-password-reset",
            &json!({"email": person.email}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut again = Person::new();
    again.email = person.email.clone();
    let response = app.register(&again).await;
    assert_eq!(error_code(response, 409).await, "email_taken");
    app.outbox_settles().await;
    assert_eq!(app.mail.to(&person.email).await.len(), sent_before);

    // On record: the audit log and the person's own history.
    let rows = app.audit_rows(&token).await;
    assert_eq!(rows[0]["action"], "user_disabled");
    assert_eq!(rows[0]["actor_email"], admin.email);
    assert_eq!(rows[0]["actor_kind"], "administrator");
    assert_eq!(rows[0]["target_email"], person.email);
    assert_eq!(rows[0]["details"]["reason"], "Sent spam to other members");
    assert_eq!(rows[0]["ip"], "127.0.0.1");
    assert!(
        app.events_of(&person.email)
            .await
            .contains(&"disabled_by_admin".to_string())
    );

    // Enabled: back to active, and in again.
    let response = app
        .admin_post(&token, "/api/admin/enable-user", &json!({"user_id": id}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["status"], "active");
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let response = app
        .admin_post(&token, "/api/admin/enable-user", &json!({"user_id": id}))
        .await;
    assert_eq!(error_code(response, 409).await, "not_disabled");
    let rows = app.audit_rows(&token).await;
    assert_eq!(rows[0]["action"], "user_enabled");
}

#[tokio::test]
async fn a_disabled_pending_account_cannot_activate_and_is_never_purged_as_stale() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    let id = app.user_id(&person.email).await.to_string();
    let response = app
        .admin_post(
            &token,
            "/api/admin/disable-user",
            &json!({"user_id": id, "reason": "fake sign-up"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app.activate(&person, &code).await;
    assert_eq!(error_code(response, 403).await, "account_disabled");
    let response = app.resend(&person).await;
    assert_eq!(error_code(response, 403).await, "account_disabled");
    let response = app
        .admin_post(
            &token,
            "/api/admin/resend-activation",
            &json!({"user_id": id}),
        )
        .await;
    assert_eq!(error_code(response, 403).await, "account_disabled");

    // Long idle, its code long gone: still holds its email.
    sqlx::query(
        "update users set last_activity_at = now() - interval '2 days',
             created_at = now() - interval '2 days' where id = $1::uuid;",
    )
    .bind(&id)
    .execute(&app.pool)
    .await
    .expect("age the account");
    sqlx::query("delete from one_time_codes")
        .execute(&app.pool)
        .await
        .expect("expire codes");
    server::maintenance::sweep(&app.pool, &Default::default())
        .await
        .expect("sweep");
    let mut again = Person::new();
    again.email = person.email.clone();
    let response = app.register(&again).await;
    assert_eq!(error_code(response, 409).await, "email_taken");

    // Enabled, it is pending again.
    let response = app
        .admin_post(&token, "/api/admin/enable-user", &json!({"user_id": id}))
        .await;
    assert_eq!(body(response).await["status"], "pending");
}

#[tokio::test]
async fn disabling_checks_its_input_and_its_target() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let person = app.activated_person().await;
    let id = app.user_id(&person.email).await.to_string();
    let own = app.user_id(&admin.email).await.to_string();

    for (body, status, code) in [
        (
            json!({"user_id": own, "reason": "x"}),
            409,
            "cannot_modify_self",
        ),
        (json!({"user_id": id, "reason": ""}), 422, "invalid"),
        (json!({"user_id": id, "reason": "   "}), 422, "invalid"),
        (
            json!({"user_id": id, "reason": "spam\u{0}"}),
            422,
            "invalid",
        ),
        (
            json!({"user_id": id, "reason": "x".repeat(501)}),
            422,
            "invalid",
        ),
        (json!({"user_id": "nope", "reason": "x"}), 422, "invalid"),
        (
            json!({"user_id": uuid::Uuid::new_v4(), "reason": "x"}),
            404,
            "not_found",
        ),
    ] {
        let response = app
            .admin_post(&token, "/api/admin/disable-user", &body)
            .await;
        assert_eq!(error_code(response, status).await, code, "{body}");
    }
    let response = app
        .admin_post(
            &token,
            "/api/admin/disable-user",
            &json!({"user_id": id, "reason": "x".repeat(500)}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .admin_post(
            &token,
            "/api/admin/disable-user",
            &json!({"user_id": id, "reason": "again"}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "already_disabled");
    let rows = app.audit_rows(&token).await;
    assert_eq!(
        rows.len(),
        2,
        "one for the creation, one for the disable: {rows:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn roles_change_at_once_and_one_administrator_always_remains() {
    let app = spawn_app().await;
    let (first, first_token) = app.admin().await;
    let person = app.activated_person().await;
    let id = app.user_id(&person.email).await.to_string();
    let their_token = app.token(&person).await;

    let response = app.admin_get(&their_token, "/api/admin/users").await;
    assert_eq!(response.status(), 403);
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/set-role",
            &json!({"user_id": id, "role": "admin"}),
        )
        .await;
    assert_eq!(body(response).await["role"], "admin");
    // The same token, now an administrator's.
    let response = app.admin_get(&their_token, "/api/admin/users").await;
    assert_eq!(response.status(), 200);
    let rows = app.audit_rows(&first_token).await;
    assert_eq!(rows[0]["action"], "role_changed");
    assert_eq!(rows[0]["actor_email"], first.email);
    assert_eq!(rows[0]["details"], json!({"from": "user", "to": "admin"}));
    assert!(
        app.events_of(&person.email)
            .await
            .contains(&"role_changed_by_admin".to_string())
    );
    // Asking for the role it already has changes nothing and records nothing.
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/set-role",
            &json!({"user_id": id, "role": "admin"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.audit_rows(&first_token).await.len(), rows.len());

    let own = app.user_id(&first.email).await.to_string();
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/set-role",
            &json!({"user_id": own, "role": "user"}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "cannot_modify_self");
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/set-role",
            &json!({"user_id": id, "role": "root"}),
        )
        .await;
    assert_eq!(error_code(response, 422).await, "invalid");
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/set-role",
            &json!({"user_id": uuid::Uuid::new_v4(), "role": "user"}),
        )
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");

    // Two administrators demote each other at the same moment: one wins, the other is the
    // last administrator and stays one.
    let demote_them = json!({"user_id": id, "role": "user"});
    let demote_me = json!({"user_id": own, "role": "user"});
    let (a, b) = tokio::join!(
        app.admin_post(&first_token, "/api/admin/set-role", &demote_them),
        app.admin_post(&their_token, "/api/admin/set-role", &demote_me),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 409] || statuses == [200, 403],
        "one demotion wins: {statuses:?}"
    );
    let admins: i64 = sqlx::query_scalar("select count(*) from users where role = 'admin'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(admins, 1);
}

// ---------------------------------------------------------------------------------------------
// Codes, deletion
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn resending_an_activation_code_unlocks_a_locked_registration() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let person = Person::new();
    app.register_and_get_code(&person).await;
    let id = app.user_id(&person.email).await.to_string();
    // As after 100 wrong codes.
    sqlx::query(
        "update users set status = 'locked', failed_code_attempts = 100 where id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.pool)
    .await
    .expect("lock the registration");

    let response = app
        .admin_post(
            &token,
            "/api/admin/resend-activation",
            &json!({"user_id": id}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(body(response).await["code_expires_in"].as_u64().is_some());
    let code = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await
        .code();
    let response = app.activate(&person, &code).await;
    assert_eq!(response.status(), 200, "the new code activates");
    let rows = app.audit_rows(&token).await;
    assert_eq!(rows[0]["action"], "activation_resent");
    assert_eq!(rows[0]["details"]["cleared_failures"], 100);
    assert!(
        app.events_of(&person.email)
            .await
            .contains(&"code_sent_by_admin".to_string())
    );

    let response = app
        .admin_post(
            &token,
            "/api/admin/resend-activation",
            &json!({"user_id": id}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "already_active");
    let response = app
        .admin_post(
            &token,
            "/api/admin/resend-activation",
            &json!({"user_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
}

#[tokio::test]
async fn deleting_frees_the_addresses_and_the_audit_log_outlives_everyone() {
    let app = spawn_app().await;
    let (first, first_token) = app.admin().await;
    let (second, second_token) = app.admin().await;
    let person = app.activated_person().await;
    let id = app.user_id(&person.email).await.to_string();

    let response = app
        .admin_post(
            &second_token,
            "/api/admin/delete-user",
            &json!({"user_id": id}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({"ok": true}));
    let goodbye = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        goodbye.subject().contains("deleted"),
        "{}",
        goodbye.subject()
    );
    let response = app.register(&person).await;
    assert_eq!(response.status(), 201, "email and phone are free again");

    // The actor goes too; their rows stay, with the emails as they were.
    let second_id = app.user_id(&second.email).await.to_string();
    let own = app.user_id(&first.email).await.to_string();
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/delete-user",
            &json!({"user_id": own}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "cannot_modify_self");
    let response = app
        .admin_post(
            &first_token,
            "/api/admin/delete-user",
            &json!({"user_id": second_id}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .admin_get(
            &first_token,
            &format!("/api/admin/audit-log?actor={}", second.email.to_uppercase()),
        )
        .await;
    let page = body(response).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["action"], "user_deleted");
    assert_eq!(page["items"][0]["actor_id"], second_id);
    assert_eq!(page["items"][0]["target_email"], person.email);
    let response = app
        .admin_get(
            &first_token,
            &format!("/api/admin/audit-log?target={second_id}"),
        )
        .await;
    let page = body(response).await;
    let actions: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["user_deleted", "admin_created"]);
    let response = app
        .admin_get(&first_token, "/api/admin/audit-log?actor=not-an-id")
        .await;
    assert_eq!(error_code(response, 422).await, "invalid");
    let response = app
        .admin_get(&first_token, "/api/admin/audit-log?limit=1")
        .await;
    let page = body(response).await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().map(Vec::len)
        ),
        (Some(4), Some(1))
    );
}

// ---------------------------------------------------------------------------------------------
// The mail queue
// ---------------------------------------------------------------------------------------------

/// Whether the short `code` is in `value` as a whole value or a whole word of one. Not a
/// substring search: four digits turn up by chance in a view full of timestamps and addresses.
fn holds_code(value: &Value, code: &str) -> bool {
    match value {
        Value::Object(map) => map.values().any(|v| holds_code(v, code)),
        Value::Array(items) => items.iter().any(|v| holds_code(v, code)),
        Value::String(text) => text.split_whitespace().any(|word| word == code),
        Value::Number(number) => number.to_string() == code,
        Value::Bool(_) | Value::Null => false,
    }
}

#[tokio::test]
async fn the_mail_queue_shows_no_bodies_and_dead_letters_can_be_retried() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let person = Person::new();
    let code = app.register_and_get_code(&person).await;
    app.outbox_settles().await;
    // A notice that could not be delivered, and a dead code email (its body is gone).
    let dead: i64 = sqlx::query_scalar(
        "insert into email_outbox (kind, recipient, subject, text_body, html_body, status,
                                   attempts, last_error)
         values ('password_changed', $1, 'Your password was changed', 'Hello', '<p>Hello</p>',
                 'dead', 8, '550 mailbox unavailable')
         returning id",
    )
    .bind(&person.email)
    .fetch_one(&app.pool)
    .await
    .expect("a dead letter");
    let dead_code: i64 = sqlx::query_scalar(
        "insert into email_outbox (kind, recipient, subject, status, attempts, expires_at)
         values ('activation', $1, 'code', 'dead', 8, now()) returning id",
    )
    .bind(&person.email)
    .fetch_one(&app.pool)
    .await
    .expect("a dead code email");

    let response = app.admin_get(&token, "/api/admin/outbox").await;
    assert_eq!(response.status(), 200);
    let view = body(response).await;
    assert_eq!(view["counts"]["dead"], 2);
    assert_eq!(view["counts"]["sent"], 1);
    assert_eq!(view["total"], 3);
    assert!(!holds_code(&view, &code), "no codes in the view: {view}");
    assert!(!view.to_string().contains("text_body"), "no bodies");
    let response = app.admin_get(&token, "/api/admin/outbox?status=dead").await;
    let view = body(response).await;
    assert_eq!(view["total"], 2);
    assert_eq!(view["items"][1]["last_error"], "550 mailbox unavailable");
    let response = app.admin_get(&token, "/api/admin/outbox?status=lost").await;
    assert_eq!(error_code(response, 422).await, "invalid");

    let response = app
        .admin_post(&token, "/api/admin/retry-email", &json!({"id": dead}))
        .await;
    assert_eq!(response.status(), 200);
    let notice = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert_eq!(notice.subject(), "Your password was changed");
    let sent_id: i64 =
        sqlx::query_scalar("select id from email_outbox where status = 'sent' order by id limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("a sent row");
    for (id, status, code) in [
        (sent_id, 409, "not_dead"),
        (dead_code, 409, "not_retryable"),
        (999_999, 404, "not_found"),
    ] {
        let response = app
            .admin_post(&token, "/api/admin/retry-email", &json!({"id": id}))
            .await;
        assert_eq!(error_code(response, status).await, code, "{id}");
    }
    let rows = app.audit_rows(&token).await;
    assert_eq!(rows[0]["action"], "email_retried");
    assert_eq!(rows[0]["details"]["email_id"], dead);
}
