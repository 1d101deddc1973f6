//! Two-step sign-in: an authenticator app (codes computed here with `totp-rs`, as an app
//! would), recovery codes, and the second step of `/api/login` and `/api/token`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::helpers::{Person, TestApp, body, error_code, spawn_app, spawn_app_with};

/// The authenticator app of a test: the secret the server gave, and the last step it used
/// (the server accepts each step once).
struct App {
    totp: totp_rs::Totp,
    secret_base32: String,
    last_step: Option<u64>,
}

fn step_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        / 30
}

impl App {
    fn new(setup: &Value) -> Self {
        let base32 = setup["secret"].as_str().expect("a secret");
        let secret = totp_rs::Secret::try_from_base32(base32).expect("base32");
        assert_eq!(secret.as_ref().len(), 20, "a 160-bit secret");
        Self {
            // As an app does: RFC 6238, HMAC-SHA-1, 6 digits, 30-second steps.
            totp: totp_rs::Builder::new()
                .with_algorithm(totp_rs::Algorithm::SHA1)
                .with_digits(6)
                .with_step_duration(30)
                .with_secret(secret.as_ref().to_vec())
                .build()
                .expect("an RFC 6238 authenticator"),
            secret_base32: base32.to_string(),
            last_step: None,
        }
    }

    /// A code the server has not accepted yet: of the current step, or of the next one when
    /// the current one was used (the server takes one step either side). A third code within
    /// one step waits for the clock to reach the next step: an event, not a guess at a delay.
    async fn next_code(&mut self) -> String {
        let step = match self.last_step {
            Some(last) => (last + 1).max(step_now()),
            None => step_now(),
        };
        while step > step_now() + 1 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.last_step = Some(step);
        self.totp.generate(step * 30).to_string()
    }

    /// Six digits that are none of the codes the server accepts now.
    fn wrong_code(&self) -> String {
        let live: Vec<String> = (step_now().saturating_sub(2)..=step_now() + 2)
            .map(|step| self.totp.generate(step * 30).to_string())
            .collect();
        (0..10u32)
            .map(|n| format!("{n}{n}{n}{n}{n}{n}"))
            .find(|code| !live.contains(code))
            .expect("five live codes cannot be ten different ones")
    }

    /// The code of the step last used: a replay.
    fn last_code(&self) -> String {
        self.totp
            .generate(self.last_step.expect("a code was used") * 30)
            .to_string()
    }
}

/// A signed-in person whose authenticator app is set up and confirmed; the recovery codes.
async fn with_authenticator(app: &TestApp) -> (Person, App, Vec<String>) {
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let setup = app
        .post_json("/api/totp-setup", &json!({"password": person.password}))
        .await;
    assert_eq!(setup.status(), 200);
    let mut authenticator = App::new(&body(setup).await);
    let code = authenticator.next_code().await;
    let enabled = app
        .post_json("/api/totp-enable", &json!({"code": code}))
        .await;
    assert_eq!(enabled.status(), 200);
    let codes = body(enabled).await["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("text").to_string())
        .collect();
    (person, authenticator, codes)
}

/// A browser or program of its own: its own cookies.
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn of(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("a client"),
            base: app.address.clone(),
        }
    }

    async fn post_json(&self, path: &str, json: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(json)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }
}

/// Signs in with the password alone on a client of its own: the challenge it gets.
async fn first_step(app: &TestApp, path: &str, person: &Person) -> (Client, String) {
    let fresh = Client::of(app);
    let response = fresh
        .post_json(
            path,
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no cookie before the second step"
    );
    let error = body(response).await;
    assert_eq!(error["error"], "second_factor_required", "{error}");
    assert_eq!(
        error["methods"],
        json!(["totp", "recovery_code"]),
        "{error}"
    );
    assert!(error.get("token").is_none(), "{error}");
    let challenge = error["challenge"]
        .as_str()
        .expect("a challenge")
        .to_string();
    (fresh, challenge)
}

async fn second_step(app: &Client, challenge: &str, field: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/api/second-factor",
        &json!({"challenge": challenge, field: code}),
    )
    .await
}

async fn factors(app: &TestApp) -> Value {
    let profile = app.get("/api/profile").await;
    assert_eq!(profile.status(), 200);
    body(profile).await["second_factors"].clone()
}

#[tokio::test]
async fn an_authenticator_app_is_set_up_with_the_password_and_confirmed_with_one_of_its_codes() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    assert_eq!(
        factors(&app).await,
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );

    // Nothing to confirm yet; a wrong password starts nothing.
    let response = app
        .post_json("/api/totp-enable", &json!({"code": "123456"}))
        .await;
    assert_eq!(error_code(response, 409).await, "totp_not_started");
    let response = app
        .post_json("/api/totp-setup", &json!({"password": "not the password"}))
        .await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");

    let first = body(
        app.post_json("/api/totp-setup", &json!({"password": person.password}))
            .await,
    )
    .await;
    let secret = first["secret"].as_str().expect("a secret");
    assert_eq!(
        first["secret_grouped"].as_str().map(|s| s.replace(' ', "")),
        Some(secret.into())
    );
    let uri = first["otpauth_uri"].as_str().expect("a URI");
    assert!(uri.starts_with("otpauth://totp/Accounts:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = first["qr_svg"].as_str().expect("an SVG");
    assert!(svg.contains("<svg") && svg.ends_with("</svg>"), "{svg}");

    // Asking again replaces the pending secret: codes of the first no longer confirm.
    let second = body(
        app.post_json("/api/totp-setup", &json!({"password": person.password}))
            .await,
    )
    .await;
    assert_ne!(second["secret"], first["secret"]);
    let mut replaced = App::new(&first);
    let mut authenticator = App::new(&second);
    let stale = replaced.next_code().await;
    let live: Vec<String> = (step_now().saturating_sub(2)..=step_now() + 2)
        .map(|step| authenticator.totp.generate(step * 30).to_string())
        .collect();
    // (Unless the two secrets share a live code, one chance in 10^5.)
    if !live.contains(&stale) {
        let response = app
            .post_json("/api/totp-enable", &json!({"code": stale}))
            .await;
        assert_eq!(error_code(response, 422).await, "invalid_code");
    }

    // The secret is stored sealed: not its bytes, not its base32.
    let sealed: Vec<u8> = sqlx::query_scalar("select sealed_secret from totp_factors")
        .fetch_one(&app.pool)
        .await
        .expect("the pending secret");
    let raw = totp_rs::Secret::try_from_base32(second["secret"].as_str().expect("secret"))
        .expect("base32")
        .as_ref()
        .to_vec();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!String::from_utf8_lossy(&sealed).contains(second["secret"].as_str().expect("secret")));

    let code = authenticator.next_code().await;
    let enabled = app
        .post_json("/api/totp-enable", &json!({"code": code}))
        .await;
    assert_eq!(enabled.status(), 200);
    let codes = body(enabled).await["recovery_codes"].clone();
    let codes = codes.as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    for code in codes {
        let code = code.as_str().expect("text");
        // 24 characters of Crockford's base32 (120 bits) in groups of four.
        assert_eq!(code.replace('-', "").len(), 24, "{code}");
    }
    assert_eq!(
        factors(&app).await,
        json!({"totp": true, "recovery_codes_left": 10, "passkeys": 0})
    );

    // One app at a time.
    let response = app
        .post_json("/api/totp-setup", &json!({"password": person.password}))
        .await;
    assert_eq!(error_code(response, 409).await, "totp_already_enabled");
    let response = app
        .post_json("/api/totp-enable", &json!({"code": code}))
        .await;
    assert_eq!(error_code(response, 409).await, "totp_already_enabled");

    assert!(
        app.history(&person.email)
            .await
            .contains(&"second_factor_enabled".into())
    );
    let notice = app
        .mail
        .wait_for_nth(&person.email, 2, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        notice.subject().contains("Two-step sign-in is on"),
        "{}",
        notice.subject()
    );
}

#[tokio::test]
async fn a_sign_in_takes_a_second_step_and_each_code_works_once() {
    let app = spawn_app().await;
    let (person, mut authenticator, recovery) = with_authenticator(&app).await;

    // The password alone: a challenge, no session.
    let (browser, challenge) = first_step(&app, "/api/login", &person).await;
    assert_eq!(browser.get("/api/profile").await.status(), 401);
    let response = second_step(&browser, &challenge, "code", &authenticator.wrong_code()).await;
    let error = body(response).await;
    assert_eq!(
        (error["error"].as_str(), error["attempts_left"].as_u64()),
        (Some("invalid_code"), Some(4)),
        "{error}"
    );
    let code = authenticator.next_code().await;
    let response = second_step(&browser, &challenge, "code", &code).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_some());
    assert_eq!(body(response).await["user"]["email"], person.email.as_str());
    assert_eq!(browser.get("/api/profile").await.status(), 200);

    // The challenge is spent; the same code again, on a new challenge, is a replay.
    let response = second_step(&browser, &challenge, "code", &code).await;
    assert_eq!(error_code(response, 410).await, "code_expired");
    let (other, challenge) = first_step(&app, "/api/login", &person).await;
    let response = second_step(&other, &challenge, "code", &authenticator.last_code()).await;
    assert_eq!(error_code(response, 422).await, "invalid_code");

    // A program: a token, with a recovery code typed loosely; that code then works no more.
    let (program, challenge) = first_step(&app, "/api/token", &person).await;
    let typed = recovery[0].to_lowercase().replace('-', " ");
    let response = second_step(&program, &challenge, "recovery_code", &typed).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "a token, not a cookie"
    );
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let issued = body(response).await;
    let token = issued["token"].as_str().expect("a token");
    assert!(issued.get("user").is_none(), "{issued}");
    let profile = app
        .client
        .get(app.url("/api/profile"))
        .bearer_auth(token)
        .send()
        .await
        .expect("profile");
    assert_eq!(profile.status(), 200);
    assert_eq!(
        body(profile).await["second_factors"],
        json!({"totp": true, "recovery_codes_left": 9, "passkeys": 0})
    );
    let (program, challenge) = first_step(&app, "/api/token", &person).await;
    let response = second_step(&program, &challenge, "recovery_code", &recovery[0]).await;
    assert_eq!(error_code(response, 422).await, "invalid_code");

    let kinds = app.history(&person.email).await;
    assert!(kinds.contains(&"recovery_code_used".into()), "{kinds:?}");
    assert!(kinds.contains(&"second_step_failed".into()), "{kinds:?}");
    // Registration, activation... the notices: enabled, then the recovery code used.
    let notice = app
        .mail
        .wait_for_nth(&person.email, 3, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        notice.subject().contains("recovery code was used"),
        "{}",
        notice.subject()
    );
    assert!(
        notice.text_body().contains("9 are left"),
        "{}",
        notice.text_body()
    );
}

#[tokio::test]
async fn a_challenge_allows_five_wrong_codes_and_five_minutes() {
    let app = spawn_app().await;
    let (person, _, _) = with_authenticator(&app).await;
    let (client, challenge) = first_step(&app, "/api/login", &person).await;
    for left in (1..=4).rev() {
        let response = second_step(
            &client,
            &challenge,
            "recovery_code",
            "0000-0000-0000-0000-0000-0000",
        )
        .await;
        let error = body(response).await;
        assert_eq!(
            (error["error"].as_str(), error["attempts_left"].as_u64()),
            (Some("invalid_code"), Some(left))
        );
    }
    let response = second_step(
        &client,
        &challenge,
        "recovery_code",
        "0000-0000-0000-0000-0000-0000",
    )
    .await;
    assert_eq!(error_code(response, 410).await, "code_used_up");
    let response = second_step(
        &client,
        &challenge,
        "recovery_code",
        "0000-0000-0000-0000-0000-0000",
    )
    .await;
    assert_eq!(error_code(response, 410).await, "code_expired");

    // Five wrong codes for the address are also five wrong passwords' worth: the sixth try of
    // either within five minutes is refused.
    let response = client
        .post_json(
            "/api/login",
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");

    // Another person: a challenge five minutes old has expired, whatever the code.
    let (other, mut authenticator, _) = with_authenticator(&app).await;
    let (client, challenge) = first_step(&app, "/api/login", &other).await;
    sqlx::query("update sign_in_challenges set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("age the challenge");
    let code = authenticator.next_code().await;
    let response = second_step(&client, &challenge, "code", &code).await;
    assert_eq!(error_code(response, 410).await, "code_expired");
    // An unknown challenge is the same answer.
    let response = second_step(&client, "no-such-challenge", "code", &code).await;
    assert_eq!(error_code(response, 410).await, "code_expired");
}

#[tokio::test]
async fn turning_it_off_or_making_new_recovery_codes_needs_the_password_and_a_current_code() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    assert_eq!(
        app.login(&person.email, &person.password).await.status(),
        200
    );
    let response = app
        .post_json(
            "/api/recovery-codes",
            &json!({"password": person.password, "code": "123456"}),
        )
        .await;
    assert_eq!(error_code(response, 409).await, "no_second_factor");

    let (person, mut authenticator, old_codes) = with_authenticator(&app).await;
    // Replacing the codes takes the password and a current code, here one of the old set.
    let response = app
        .post_json(
            "/api/recovery-codes",
            &json!({"password": person.password, "code": "0000-0000-0000-0000-0000-0000"}),
        )
        .await;
    assert_eq!(error_code(response, 422).await, "invalid_code");
    let renewed = app
        .post_json(
            "/api/recovery-codes",
            &json!({"password": person.password, "code": old_codes[5]}),
        )
        .await;
    assert_eq!(renewed.status(), 200);
    let new_codes = body(renewed).await["recovery_codes"].clone();
    let new_code = new_codes[0].as_str().expect("a code").to_string();
    // The old set is gone: its codes no longer finish a sign-in.
    let (client, challenge) = first_step(&app, "/api/login", &person).await;
    let response = second_step(&client, &challenge, "recovery_code", &old_codes[1]).await;
    assert_eq!(error_code(response, 422).await, "invalid_code");

    let response = app
        .post_json(
            "/api/totp-disable",
            &json!({"password": "wrong", "code": new_code}),
        )
        .await;
    assert_eq!(error_code(response, 401).await, "invalid_credentials");
    let response = app
        .post_json(
            "/api/totp-disable",
            &json!({"password": person.password, "code": "0000-0000-0000-0000-0000-0000"}),
        )
        .await;
    assert_eq!(error_code(response, 422).await, "invalid_code");
    let code = authenticator.next_code().await;
    let response = app
        .post_json(
            "/api/totp-disable",
            &json!({"password": person.password, "code": code}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        factors(&app).await,
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );
    // The password alone signs in again.
    let response = Client::of(&app)
        .post_json(
            "/api/login",
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let kinds = app.history(&person.email).await;
    for kind in [
        "second_factor_enabled",
        "recovery_codes_renewed",
        "second_factor_disabled",
    ] {
        assert!(kinds.contains(&kind.into()), "{kind}: {kinds:?}");
    }
}

#[tokio::test]
async fn an_administrator_sees_the_factors_and_removes_them_for_someone_who_lost_their_phone() {
    let app = spawn_app().await;
    let (person, authenticator, recovery) = with_authenticator(&app).await;
    let user_id = app.user_id(&person.email).await;
    let (_, token) = app.admin().await;
    let admin = |path: String| app.client.get(app.url(&path)).bearer_auth(&token).send();
    let detail = body(
        admin(format!("/api/admin/user?id={user_id}"))
            .await
            .expect("detail"),
    )
    .await;
    assert_eq!(
        detail["second_factors"],
        json!({"totp": true, "recovery_codes_left": 10, "passkeys": 0}),
        "{detail}"
    );
    // Never a secret: neither the app's key nor any recovery code is in the detail.
    let text = detail.to_string();
    assert!(!text.contains(&authenticator.secret_base32), "{text}");
    for code in &recovery {
        assert!(!text.contains(code.as_str()), "{text}");
    }

    let remove = |who: String| {
        app.client
            .post(app.url("/api/admin/remove-second-factors"))
            .bearer_auth(&token)
            .json(&json!({"user_id": who}))
            .send()
    };
    // Only administrators.
    let response = app
        .post_json(
            "/api/admin/remove-second-factors",
            &json!({"user_id": user_id}),
        )
        .await;
    assert_eq!(error_code(response, 403).await, "forbidden");
    let response = remove(user_id.to_string()).await.expect("remove");
    assert_eq!(response.status(), 200);
    let response = remove(user_id.to_string()).await.expect("remove again");
    assert_eq!(error_code(response, 409).await, "no_second_factor");

    // The password alone signs in again; the person hears of it; the act is on the record.
    let response = Client::of(&app)
        .post_json(
            "/api/login",
            &json!({"email": person.email, "password": person.password}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let notice = app
        .mail
        .wait_for_nth(&person.email, 3, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        notice.subject().contains("Two-step sign-in was removed"),
        "{}",
        notice.subject()
    );
    let kinds = app.history(&person.email).await;
    assert!(
        kinds.contains(&"second_factors_removed_by_admin".into()),
        "{kinds:?}"
    );
    let audit = body(
        admin("/api/admin/audit-log".to_string())
            .await
            .expect("audit"),
    )
    .await;
    let row = &audit["items"][0];
    assert_eq!(row["action"], "second_factors_removed", "{audit}");
    assert_eq!(row["target_id"], user_id.to_string().as_str(), "{audit}");
}

#[tokio::test]
async fn ten_wrong_codes_a_day_pause_the_second_step_even_for_the_right_code_and_tell_the_owner() {
    // The per-address limit of wrong passwords (5 in 5 minutes) would stop the guesses first:
    // raised here, so the daily cap of the second step is what answers.
    let app = spawn_app_with(&[("LOGIN_FAILURES_ALLOWED", "100")]).await;
    let (person, mut authenticator, _) = with_authenticator(&app).await;
    let wrong = "0000-0000-0000-0000-0000-0000";
    // Two challenges of five wrong codes each: ten in all, the cap.
    for _ in 0..2 {
        let (client, challenge) = first_step(&app, "/api/login", &person).await;
        for attempt in 1..=5 {
            let response = second_step(&client, &challenge, "recovery_code", wrong).await;
            // The fifth uses the challenge up.
            assert_eq!(response.status(), if attempt < 5 { 422 } else { 410 });
        }
    }
    // The next try is refused whatever it is, with the wait before the next one.
    let (client, challenge) = first_step(&app, "/api/login", &person).await;
    let code = authenticator.next_code().await;
    let response = second_step(&client, &challenge, "code", &code).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    // One more try refills every 2.4 hours.
    assert!((1..=8640).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    // The owner is told, once: registration, enabled, then this.
    let notice = app
        .mail
        .wait_for_nth(&person.email, 3, crate::smtp::MAIL_WITHIN)
        .await;
    assert!(
        notice.subject().contains("Someone has your password"),
        "{}",
        notice.subject()
    );
    let notices: i64 = sqlx::query_scalar(
        "select count(*) from email_outbox where recipient = $1 and subject like 'Someone has%'",
    )
    .bind(&person.email)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(notices, 1);
}

#[tokio::test]
async fn thirty_parallel_wrong_codes_over_six_challenges_are_judged_ten_and_refused_twenty() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_ALLOWED", "100")]).await;
    let (person, _, _) = with_authenticator(&app).await;
    let mut challenges = Vec::new();
    for _ in 0..6 {
        challenges.push(first_step(&app, "/api/login", &person).await);
    }
    // Thirty wrong codes at once over six challenges: the cap lets exactly ten be judged.
    let wrong = "0000-0000-0000-0000-0000-0000";
    let tries = challenges.iter().flat_map(|(client, challenge)| {
        (0..5).map(move |_| second_step(client, challenge, "recovery_code", wrong))
    });
    let statuses: Vec<u16> = futures_util::future::join_all(tries)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let judged = statuses.iter().filter(|s| **s == 422 || **s == 410).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((judged, refused), (10, 20), "{statuses:?}");
}

#[tokio::test]
async fn the_right_password_does_not_wipe_the_count_of_wrong_codes() {
    let app = spawn_app().await;
    let (person, _, _) = with_authenticator(&app).await;
    let wrong = "0000-0000-0000-0000-0000-0000";
    // Four wrong codes on one challenge, then the password again (right, so it opens a new
    // challenge): the fifth wrong code of the address within five minutes is still the fifth.
    let (client, challenge) = first_step(&app, "/api/login", &person).await;
    for _ in 0..4 {
        let response = second_step(&client, &challenge, "recovery_code", wrong).await;
        assert_eq!(response.status(), 422);
    }
    let (client, challenge) = first_step(&app, "/api/login", &person).await;
    let response = second_step(&client, &challenge, "recovery_code", wrong).await;
    assert_eq!(response.status(), 422);
    let response = second_step(&client, &challenge, "recovery_code", wrong).await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
}

#[tokio::test]
async fn wrong_codes_to_turn_it_off_count_like_wrong_codes_at_sign_in() {
    let app = spawn_app().await;
    let (person, _, _) = with_authenticator(&app).await;
    let wrong = json!({"password": person.password, "code": "0000-0000-0000-0000-0000-0000"});
    for _ in 0..5 {
        let response = app.post_json("/api/totp-disable", &wrong).await;
        assert_eq!(error_code(response, 422).await, "invalid_code");
    }
    let response = app.post_json("/api/totp-disable", &wrong).await;
    assert_eq!(error_code(response, 429).await, "too_many_attempts");
    let kinds = app.history(&person.email).await;
    let failed = kinds.iter().filter(|k| *k == "second_step_failed").count();
    assert_eq!(failed, 5, "{kinds:?}");
}
