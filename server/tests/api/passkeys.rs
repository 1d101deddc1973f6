//! Passkeys over real HTTP: added with the password, a sign-in with no email or password, the
//! second step of a password sign-in, and what must be refused (a replayed or expired ceremony,
//! another ceremony's answer, another origin, no user verification, a cloned authenticator's
//! counter, another person's passkey). The authenticator is `soft_passkey`: real keys and
//! signatures, checked by the server as a browser's would be.

use serde_json::{Value, json};

use crate::{
    helpers::{Person, TestApp, body, error_code, spawn_app, spawn_app_with, test_settings},
    soft_passkey::SoftPasskey,
};

/// The origin a browser has on the app: `localhost` (an IP address cannot be a relying party).
fn origin(app: &TestApp) -> String {
    app.address.replace("127.0.0.1", "localhost")
}

/// A client of its own (its own cookies), as a second browser would be.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("a client")
}

async fn post(client: &reqwest::Client, base: &str, path: &str, json: &Value) -> reqwest::Response {
    client
        .post(format!("{base}{path}"))
        .json(json)
        .send()
        .await
        .expect("request")
}

/// Starts a ceremony; its token and WebAuthn options.
async fn options(client: &reqwest::Client, base: &str, request: &Value) -> (String, Value) {
    let response = post(client, base, "/api/passkey-options", request).await;
    assert_eq!(response.status(), 200, "{request}");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let answer = body(response).await;
    let ceremony = answer["ceremony"].as_str().expect("a ceremony").to_string();
    (ceremony, answer["options"].clone())
}

/// Adds a passkey for the person `app`'s own client is signed in as.
async fn add_passkey(
    app: &TestApp,
    person: &Person,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> Value {
    let (ceremony, options) = options(
        &app.client,
        &app.address,
        &json!({"purpose": "register", "password": person.password}),
    )
    .await;
    let credential = authenticator.create(&options);
    let response = app
        .post_json(
            "/api/passkey-register",
            &json!({"ceremony": ceremony, "credential": credential, "name": name}),
        )
        .await;
    assert_eq!(response.status(), 201);
    body(response).await
}

/// A signed-in person (on `app.client`) with one passkey on `authenticator`.
async fn with_passkey(app: &TestApp) -> (Person, SoftPasskey) {
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let mut authenticator = SoftPasskey::new(&origin(app));
    add_passkey(app, &person, &mut authenticator, "Test laptop").await;
    (person, authenticator)
}

/// Signs in with a passkey alone on a new client: the answer, and the client.
async fn passkey_sign_in(
    app: &TestApp,
    authenticator: &mut SoftPasskey,
    extra: Value,
) -> (reqwest::Response, reqwest::Client) {
    let client = browser();
    let (ceremony, options) = options(&client, &app.address, &json!({"purpose": "login"})).await;
    let mut request = json!({"ceremony": ceremony, "credential": authenticator.get(&options)});
    if let (Some(request), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
        request.extend(extra.clone());
    }
    let response = post(&client, &app.address, "/api/passkey-login", &request).await;
    (response, client)
}

#[tokio::test]
async fn a_passkey_added_with_the_password_signs_in_with_no_email_or_password() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );

    // The password first: a wrong one starts nothing.
    let response = app
        .post_json(
            "/api/passkey-options",
            &json!({"purpose": "register", "password": "wrong"}),
        )
        .await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    // Not signed in: no registration at all.
    let response = post(
        &browser(),
        &app.address,
        "/api/passkey-options",
        &json!({"purpose": "register", "password": person.password}),
    )
    .await;
    assert_eq!(error_code(response, 401).await, "unauthenticated");

    let mut authenticator = SoftPasskey::new(&origin(&app));
    let (ceremony, options) = options(
        &app.client,
        &app.address,
        &json!({"purpose": "register", "password": person.password}),
    )
    .await;
    // A discoverable credential, verified, for this host.
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{options}");
    assert_eq!(selection["userVerification"], "required", "{options}");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(options["publicKey"]["user"]["name"], person.email.as_str());
    let credential = authenticator.create(&options);
    // A name is required, and the ceremony is not spent by a refused name.
    let response = app
        .post_json(
            "/api/passkey-register",
            &json!({"ceremony": ceremony, "credential": credential, "name": "  "}),
        )
        .await;
    assert_eq!(error_code(response, 422).await, "invalid");
    let response = app
        .post_json(
            "/api/passkey-register",
            &json!({"ceremony": ceremony, "credential": credential, "name": "MacBook Touch ID"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let added = body(response).await;
    assert_eq!(added["name"], "MacBook Touch ID");
    assert!(added["last_used_at"].is_null(), "{added}");

    let profile = body(app.get("/api/profile").await).await;
    assert_eq!(profile["second_factors"]["passkeys"], 1, "{profile}");
    let list = body(app.get("/api/passkeys").await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["passkey_id"], added["passkey_id"]);

    // A new browser: no email, no password.
    let (response, client) = passkey_sign_in(&app, &mut authenticator, json!({})).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("set-cookie").is_some(),
        "a session cookie"
    );
    assert_eq!(body(response).await["user"]["email"], person.email.as_str());
    let me = client
        .get(format!("{}/api/profile", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(body(me).await["email"], person.email.as_str());

    // A program asks for a token instead.
    let (response, _) = passkey_sign_in(&app, &mut authenticator, json!({"as": "token"})).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    let token = body(response).await["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let me = app
        .bearer(reqwest::Method::GET, "/api/profile", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);

    let list = body(app.get("/api/passkeys").await).await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    let kinds = app.history(&person.email).await;
    assert!(kinds.contains(&"passkey_added".to_string()), "{kinds:?}");
    let notice = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        notice.subject().contains("A passkey was added"),
        "{}",
        notice.subject()
    );
    assert!(
        notice.text_body().contains("MacBook Touch ID"),
        "{}",
        notice.text_body()
    );
}

#[tokio::test]
async fn with_a_passkey_the_password_asks_for_a_second_step_that_the_passkey_meets() {
    let app = spawn_app().await;
    let (person, mut authenticator) = with_passkey(&app).await;

    for (path, kind) in [("/api/login", "cookie"), ("/api/token", "bearer")] {
        let client = browser();
        let response = post(
            &client,
            &app.address,
            path,
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
        assert_eq!(response.status(), 401);
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no session before the passkey"
        );
        let error = body(response).await;
        assert_eq!(error["error"], "second_factor_required", "{error}");
        assert_eq!(error["methods"], json!(["passkey"]), "{error}");
        let challenge = error["challenge"].as_str().expect("a challenge");
        let (ceremony, options) = options(
            &client,
            &app.address,
            &json!({"purpose": "second_factor", "challenge": challenge}),
        )
        .await;
        // Only this account's passkeys are offered.
        assert_eq!(
            options["publicKey"]["allowCredentials"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{options}"
        );
        let response = post(
            &client,
            &app.address,
            "/api/passkey-login",
            &json!({"ceremony": ceremony, "credential": authenticator.get(&options)}),
        )
        .await;
        assert_eq!(response.status(), 200, "{path}");
        let answer = body(response).await;
        match kind {
            "cookie" => assert_eq!(answer["user"]["email"], person.email.as_str(), "{answer}"),
            _ => assert!(answer["token"].is_string(), "{answer}"),
        }
        // The challenge is spent with it.
        let response = post(
            &client,
            &app.address,
            "/api/passkey-options",
            &json!({"purpose": "second_factor", "challenge": challenge}),
        )
        .await;
        assert_eq!(error_code(response, 410).await, "code_expired");
    }
}

#[tokio::test]
async fn a_ceremony_works_once_for_its_purpose_within_its_time_and_for_its_own_challenge() {
    let app = spawn_app().await;
    let (person, mut authenticator) = with_passkey(&app).await;
    let client = browser();
    let (ceremony, login_options) =
        options(&client, &app.address, &json!({"purpose": "login"})).await;
    let credential = authenticator.get(&login_options);
    let login = |ceremony: &str, credential: &Value| {
        let request = json!({"ceremony": ceremony, "credential": credential});
        let client = client.clone();
        let address = app.address.clone();
        async move { post(&client, &address, "/api/passkey-login", &request).await }
    };
    assert_eq!(login(&ceremony, &credential).await.status(), 200);
    // Replayed, ceremony and all: the ceremony is gone.
    assert_eq!(
        error_code(login(&ceremony, &credential).await, 410).await,
        "code_expired"
    );

    // An answer to another ceremony's challenge.
    let (first, first_options) = options(&client, &app.address, &json!({"purpose": "login"})).await;
    let (second, _) = options(&client, &app.address, &json!({"purpose": "login"})).await;
    let for_first = authenticator.get(&first_options);
    assert_eq!(
        error_code(login(&second, &for_first).await, 401).await,
        "invalid_credentials"
    );
    // …which spent the second ceremony but not the first.
    assert_eq!(login(&first, &for_first).await.status(), 200);

    // Too old.
    let (old, old_options) = options(&client, &app.address, &json!({"purpose": "login"})).await;
    sqlx::query("update webauthn_ceremonies set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("age the ceremonies");
    let answer = authenticator.get(&old_options);
    assert_eq!(
        error_code(login(&old, &answer).await, 410).await,
        "code_expired"
    );

    // A registration's ceremony does not sign in, and a sign-in's does not register.
    let (register, register_options) = options(
        &app.client,
        &app.address,
        &json!({"purpose": "register", "password": person.password}),
    )
    .await;
    let mut other = SoftPasskey::new(&origin(&app));
    let made = other.create(&register_options);
    assert_eq!(
        error_code(login(&register, &made).await, 410).await,
        "code_expired"
    );
    let (sign_in, sign_in_options) =
        options(&client, &app.address, &json!({"purpose": "login"})).await;
    let answer = authenticator.get(&sign_in_options);
    let response = app
        .post_json(
            "/api/passkey-register",
            &json!({"ceremony": sign_in, "credential": answer, "name": "Nope"}),
        )
        .await;
    assert_eq!(error_code(response, 410).await, "code_expired");

    // Garbage in the credential's place is refused as such, never a 500.
    let (ceremony, _) = options(&client, &app.address, &json!({"purpose": "login"})).await;
    let response = login(&ceremony, &json!({"id": "x", "type": "public-key"})).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
}

/// Tries to add a passkey made by `authenticator`: the answer.
async fn try_register(
    app: &TestApp,
    person: &Person,
    authenticator: &mut SoftPasskey,
) -> reqwest::Response {
    let (ceremony, options) = options(
        &app.client,
        &app.address,
        &json!({"purpose": "register", "password": person.password}),
    )
    .await;
    let credential = authenticator.create(&options);
    app.post_json(
        "/api/passkey-register",
        &json!({"ceremony": ceremony, "credential": credential, "name": "Phished"}),
    )
    .await
}

#[tokio::test]
async fn a_passkey_made_on_another_site_or_without_user_verification_is_refused() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let phishing = SoftPasskey::new("http://localhost.evil.example");
    let response = try_register(&app, &person, &mut phishing.clone()).await;
    assert_eq!(error_code(response, 422).await, "invalid_passkey");
    let mut unverified = SoftPasskey::new(&origin(&app));
    unverified.verifies_user = false;
    let response = try_register(&app, &person, &mut unverified).await;
    assert_eq!(error_code(response, 422).await, "invalid_passkey");
    assert_eq!(body(app.get("/api/passkeys").await).await, json!([]));

    // A good passkey, then an assertion from a page of another origin.
    let mut authenticator = SoftPasskey::new(&origin(&app));
    add_passkey(&app, &person, &mut authenticator, "Laptop").await;
    let mut phished = authenticator.at_origin("http://evil.example");
    let (response, _) = passkey_sign_in(&app, &mut phished, json!({})).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    let mut lazy = authenticator.clone();
    lazy.verifies_user = false;
    let (response, _) = passkey_sign_in(&app, &mut lazy, json!({})).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
}

#[tokio::test]
async fn a_cloned_authenticator_is_refused_once_its_counter_falls_behind() {
    let app = spawn_app().await;
    let (_, mut original) = with_passkey(&app).await;
    let mut clone = original.clone();
    for _ in 0..2 {
        let (response, _) = passkey_sign_in(&app, &mut original, json!({})).await;
        assert_eq!(response.status(), 200);
    }
    // The copy's counter (1) is behind the stored one (2).
    let (response, _) = passkey_sign_in(&app, &mut clone, json!({})).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    // The original goes on.
    let (response, _) = passkey_sign_in(&app, &mut original, json!({})).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_ceremony_begun_on_one_server_is_finished_on_another() {
    let app = spawn_app().await;
    let (person, mut authenticator) = with_passkey(&app).await;
    // A second server process on the same database, behind the same public address (as
    // replicas behind a balancer are).
    let settings = test_settings(
        &app.database_url,
        &[
            ("SMTP_URL", app.mail.url().as_str()),
            ("APP_BASE_URL", origin(&app).as_str()),
        ],
    );
    let replica = server::startup::Application::build(settings)
        .await
        .expect("a second server");
    let replica_address = format!("http://{}", replica.local_addr());
    tokio::spawn(replica.run_until(std::future::pending()));

    let client = browser();
    let (ceremony, options) = options(&client, &app.address, &json!({"purpose": "login"})).await;
    let response = post(
        &client,
        &replica_address,
        "/api/passkey-login",
        &json!({"ceremony": ceremony, "credential": authenticator.get(&options)}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["user"]["email"], person.email.as_str());
}

#[tokio::test]
async fn passkeys_are_renamed_and_removed_by_their_owner_only() {
    let app = spawn_app().await;
    let (person, mut authenticator) = with_passkey(&app).await;
    let id = body(app.get("/api/passkeys").await).await[0]["passkey_id"].clone();

    let response = app
        .post_json(
            "/api/rename-passkey",
            &json!({"passkey_id": id, "name": "Work laptop"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await["name"], "Work laptop");

    // Someone else cannot see, rename or remove it.
    let stranger = app.activated_person().await;
    let other = browser();
    let signed_in = post(
        &other,
        &app.address,
        "/api/login",
        &json!({"email": stranger.email, "password": stranger.password}),
    )
    .await;
    assert_eq!(signed_in.status(), 200);
    let theirs = other
        .get(format!("{}/api/passkeys", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(body(theirs).await, json!([]));
    let response = post(
        &other,
        &app.address,
        "/api/rename-passkey",
        &json!({"passkey_id": id, "name": "Mine now"}),
    )
    .await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = post(
        &other,
        &app.address,
        "/api/delete-passkey",
        &json!({"passkey_id": id, "password": stranger.password}),
    )
    .await;
    assert_eq!(error_code(response, 404).await, "not_found");

    // The owner, with the password (the only factor is this passkey: no code to give).
    let response = app
        .post_json(
            "/api/delete-passkey",
            &json!({"passkey_id": id, "password": "wrong"}),
        )
        .await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    let response = app
        .post_json(
            "/api/delete-passkey",
            &json!({"passkey_id": id, "password": person.password}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(app.get("/api/passkeys").await).await, json!([]));
    let kinds = app.history(&person.email).await;
    assert!(kinds.contains(&"passkey_removed".to_string()), "{kinds:?}");
    // The password alone signs in again, and the removed passkey does not.
    let response = post(
        &browser(),
        &app.address,
        "/api/login",
        &json!({"email": person.email, "password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let (response, _) = passkey_sign_in(&app, &mut authenticator, json!({})).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
}

#[tokio::test]
async fn a_server_at_an_ip_address_has_no_passkeys_and_says_so() {
    let app = spawn_app_with(&[("APP_BASE_URL", "http://127.0.0.1:0")]).await;
    let response = app
        .post_json("/api/passkey-options", &json!({"purpose": "login"}))
        .await;
    assert_eq!(error_code(response, 409).await, "passkeys_unavailable");
}

#[tokio::test]
async fn an_administrator_removes_the_passkeys_of_someone_who_lost_their_devices() {
    let app = spawn_app().await;
    let (person, mut authenticator) = with_passkey(&app).await;
    let user_id = app.user_id(&person.email).await;
    let (_, admin_token) = app.admin().await;
    let detail = app
        .bearer(
            reqwest::Method::GET,
            &format!("/api/admin/user?id={user_id}"),
            &admin_token,
        )
        .send()
        .await
        .expect("request");
    let detail = body(detail).await;
    assert_eq!(detail["second_factors"]["passkeys"], 1, "{detail}");
    let removed = app
        .bearer(
            reqwest::Method::POST,
            "/api/admin/remove-second-factors",
            &admin_token,
        )
        .json(&json!({"user_id": user_id}))
        .send()
        .await
        .expect("request");
    assert_eq!(removed.status(), 200);
    let (response, _) = passkey_sign_in(&app, &mut authenticator, json!({})).await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    let response = post(
        &browser(),
        &app.address,
        "/api/login",
        &json!({"email": person.email, "password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200, "the password alone again");
}

#[tokio::test]
async fn where_administrators_must_have_a_second_factor_one_without_sets_one_up_first() {
    let app = spawn_app_with(&[("ADMIN_REQUIRE_SECOND_FACTOR", "true")]).await;
    let (admin, token) = app.admin().await;
    let as_admin = |method: reqwest::Method, path: &str| app.bearer(method, path, &token);
    let response = as_admin(reqwest::Method::GET, "/api/admin/users")
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(response, 403).await,
        "second_factor_setup_required"
    );
    // Their own account still works, setting up a factor included.
    let response = as_admin(reqwest::Method::GET, "/api/profile")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let response = as_admin(reqwest::Method::POST, "/api/passkey-options")
        .json(&json!({"purpose": "register", "password": admin.password}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let started = body(response).await;
    let mut authenticator = SoftPasskey::new(&origin(&app));
    let credential = authenticator.create(&started["options"]);
    let response = as_admin(reqwest::Method::POST, "/api/passkey-register")
        .json(&json!({"ceremony": started["ceremony"], "credential": credential, "name": "Admin key"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let response = as_admin(reqwest::Method::GET, "/api/admin/users")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    // Off (the default), an administrator without one is let through.
    let relaxed = spawn_app().await;
    let (_, token) = relaxed.admin().await;
    let response = relaxed
        .bearer(reqwest::Method::GET, "/api/admin/users", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn passkey_sign_ins_share_the_per_network_limit_of_password_checks() {
    // Two a minute from one address: starting a passkey sign-in spends one, so the third start
    // is refused, and the password, which shares the budget, is refused too.
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_IP", "2")]).await;
    for _ in 0..2 {
        let response = app
            .post_json("/api/passkey-options", &json!({"purpose": "login"}))
            .await;
        assert_eq!(response.status(), 200);
    }
    let response = app
        .post_json("/api/passkey-options", &json!({"purpose": "login"}))
        .await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    let response = app.login("nobody@example.com", "whatever password").await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
}
