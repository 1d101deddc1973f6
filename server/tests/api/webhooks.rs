//! Domain events as webhooks, with real HTTP receivers on sockets: every event type arrives
//! signed (checked with the official Standard Webhooks library) and without secrets; a receiver
//! that was down gets everything once, in each account's order; several workers never deliver
//! an event twice; a receiver that hangs does not hold up another; a delivery failing for
//! 24 hours is dead and shown to administrators; nothing is written when webhooks are off or
//! when the change's transaction fails.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use app::infra::webhooks::{self, Event};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::any,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::Method;
use serde_json::{Value, json};
use server::{
    settings::WebhookSettings,
    webhook_worker::{CONCURRENCY_PER_URL, WebhookWorker},
};
use tokio::{net::TcpListener, sync::watch};
use uuid::Uuid;

use crate::helpers::{
    Person, TestApp, body, free_port, spawn_app, spawn_app_configured, spawn_app_with,
    test_settings,
};

/// Generous: a slow, busy machine still meets it; a broken worker still fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// What a receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Accept,
    Fail(u16),
    /// Never answers until the test releases it.
    Hang,
}

/// One request as a receiver saw it, and what it answered (`None`: not yet).
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: String,
    status: Option<u16>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn id(&self) -> String {
        self.header("webhook-id").to_string()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

struct ReceiverState {
    mode: Mutex<Mode>,
    requests: Mutex<Vec<Received>>,
    hanging: AtomicUsize,
    release: watch::Sender<bool>,
}

/// An HTTP server on a socket that records every request.
#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(mode: Mode) -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").await.expect("bind"), mode)
    }

    /// On `port`, where nothing listened before (the URL the app was given).
    async fn start_on(port: u16, mode: Mode) -> Self {
        Self::serve(
            TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind the receiver's port"),
            mode,
        )
    }

    fn serve(listener: TcpListener, mode: Mode) -> Self {
        let port = listener.local_addr().expect("an address").port();
        let state = Arc::new(ReceiverState {
            mode: Mutex::new(mode),
            requests: Mutex::new(Vec::new()),
            hanging: AtomicUsize::new(0),
            release: watch::channel(false).0,
        });
        let router = Router::new()
            .fallback(any(receive))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            state,
        }
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().expect("lock") = mode;
    }

    /// Lets every hanging request answer 200.
    fn release(&self) {
        self.set_mode(Mode::Accept);
        self.state.release.send_replace(true);
    }

    fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// The requests answered 2xx, in the order they arrived.
    fn delivered(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
            .collect()
    }

    fn hanging(&self) -> usize {
        self.state.hanging.load(Ordering::SeqCst)
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mode = *state.mode.lock().expect("lock");
    let index = {
        let mut requests = state.requests.lock().expect("lock");
        requests.push(Received {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status: None,
        });
        requests.len() - 1
    };
    let status = match mode {
        Mode::Accept => StatusCode::NO_CONTENT,
        Mode::Fail(code) => StatusCode::from_u16(code).expect("a status"),
        Mode::Hang => {
            state.hanging.fetch_add(1, Ordering::SeqCst);
            let mut released = state.release.subscribe();
            let _ = released.wait_for(|r| *r).await;
            state.hanging.fetch_sub(1, Ordering::SeqCst);
            StatusCode::OK
        }
    };
    state.requests.lock().expect("lock")[index].status = Some(status.as_u16());
    status
}

/// A fresh `whsec_` secret of 32 random bytes.
fn new_secret() -> String {
    let mut bytes = Uuid::new_v4().as_bytes().to_vec();
    bytes.extend(Uuid::new_v4().as_bytes());
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The app with webhooks to `urls`.
async fn app_with_hooks(urls: &[&str], secret: &str) -> TestApp {
    spawn_app_with(&[
        ("WEBHOOK_URLS", &urls.join(",")),
        ("WEBHOOK_SECRET", secret),
    ])
    .await
}

/// The webhook settings an app with `urls` runs with, for publishing and workers of the test's.
fn hook_settings(app: &TestApp, urls: &[&str], secret: &str) -> server::settings::Settings {
    test_settings(
        &app.database_url,
        &[
            ("WEBHOOK_URLS", &urls.join(",")),
            ("WEBHOOK_SECRET", secret),
        ],
    )
}

/// Polls `check` until it holds, for up to [`DEADLINE`].
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not {what} after {} s",
            DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the yes-or-no query `sql` until it answers true, for up to [`DEADLINE`].
async fn until_db(app: &TestApp, sql: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let reached: bool = sqlx::query_scalar(sql)
            .fetch_one(&app.pool)
            .await
            .expect("a yes-or-no query");
        if reached {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not {what} after {} s",
            DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.pool)
        .await
        .expect("a count")
}

/// Waits until no delivery is pending any more.
async fn deliveries_settle(app: &TestApp) {
    until_db(
        app,
        "select not exists(select 1 from webhook_deliveries where status = 'pending')",
        "every webhook delivered",
    )
    .await;
}

/// Every pending delivery becomes due now, and the worker is woken: a receiver that came back
/// need not wait for the backoff. Leased deliveries (in flight: their next attempt is the
/// lease, 60 s after the claim) are left alone.
async fn retry_now(app: &TestApp) {
    sqlx::raw_sql(
        "update webhook_deliveries set next_attempt_at = now()
         where status = 'pending'
           and next_attempt_at not between now() + interval '20 seconds'
                                       and now() + interval '70 seconds';
         select pg_notify('webhook_deliveries', '');",
    )
    .execute(&app.pool)
    .await
    .expect("fast-forward the retries");
}

/// Each event id arrived once, and for each account in the order of its deliveries to `url`.
async fn assert_once_and_in_order(app: &TestApp, receiver: &Receiver) {
    let delivered = receiver.delivered();
    let ids: Vec<String> = delivered.iter().map(Received::id).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an event arrived twice: {ids:?}");
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "select ordering_key, event_id from webhook_deliveries where url = $1 order by id",
    )
    .bind(&receiver.url)
    .fetch_all(&app.pool)
    .await
    .expect("the deliveries");
    assert_eq!(ids.len(), rows.len(), "every event arrived");
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    let mut key_of = HashMap::new();
    for (key, id) in rows {
        key_of.insert(id.to_string(), key.clone());
        expected.entry(key).or_default().push(id.to_string());
    }
    let mut arrived: HashMap<String, Vec<String>> = HashMap::new();
    for id in ids {
        let key = key_of.get(&id).expect("a known event").clone();
        arrived.entry(key).or_default().push(id);
    }
    assert_eq!(arrived, expected, "per-account order");
}

/// Every key of `value`, at any depth.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// Every scalar of a JSON value (strings as they are, numbers and booleans as JSON writes them).
fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::String(text) => out.push(text.clone()),
        Value::Null => {}
        other => out.push(other.to_string()),
    }
}

/// Whether `secret` is anywhere in `payload`. A long secret (a password, a token) is searched
/// for in the whole body; a short one (a 4-digit code) would turn up by chance in a body full
/// of timestamps and ids, so it counts only as a whole value or a whole word of one.
fn carries(payload: &Value, body: &str, secret: &str) -> bool {
    if secret.len() >= 12 {
        return body.contains(secret);
    }
    let mut values = Vec::new();
    leaves(payload, &mut values);
    values
        .iter()
        .any(|value| value.split_whitespace().any(|word| word == secret))
}

async fn post(app: &TestApp, token: &str, path: &str, payload: Value) -> reqwest::Response {
    app.bearer(Method::POST, path, token)
        .json(&payload)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn every_event_type_arrives_signed_with_public_fields_only() {
    let receiver = Receiver::start(Mode::Accept).await;
    let secret = new_secret();
    let app = app_with_hooks(&[&receiver.url], &secret).await;
    let (_, admin) = app.admin().await;
    let product = app.create_product(&admin, "Tea", json!("2.50"), 10).await;

    // One person through every change an account goes through.
    let mut person = app.activated_person().await;
    let user_id = app.user_id(&person.email).await;
    let mut secrets = vec![person.password.clone()];
    let mut token = app.token(&person).await;
    let new_email = Person::new().email;
    let response = post(
        &app,
        &token,
        "/api/change-email",
        json!({"new_email": new_email, "password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let code = app.mail.wait_for(&new_email).await.code();
    secrets.push(code.clone());
    let response = post(&app, &token, "/api/confirm-email", json!({"code": code})).await;
    assert_eq!(response.status(), 200);
    person.email = new_email.clone();

    let changed = "a changed password here".to_string();
    let response = post(
        &app,
        &token,
        "/api/change-password",
        json!({"current_password": person.password, "new_password": changed}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = app
        .post_json("/api/request-password-reset", &json!({"email": new_email}))
        .await;
    assert_eq!(response.status(), 200);
    // After the change's code and the password-changed notice.
    let code = app
        .mail
        .wait_for_nth(&new_email, 3, Duration::from_secs(10))
        .await
        .code();
    secrets.push(code.clone());
    person.password = "a reset password here".into();
    let response = app
        .post_json(
            "/api/reset-password",
            &json!({"email": new_email, "code": code, "new_password": person.password}),
        )
        .await;
    assert_eq!(response.status(), 200);
    secrets.extend([changed, person.password.clone()]);

    let response = post(
        &app,
        &admin,
        "/api/admin/disable-user",
        json!({"user_id": user_id, "reason": "a private note"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = post(
        &app,
        &admin,
        "/api/admin/enable-user",
        json!({"user_id": user_id}),
    )
    .await;
    assert_eq!(response.status(), 200);

    token = app.token(&person).await;
    secrets.push(token.clone());
    let response = post(
        &app,
        &token,
        "/api/place-order",
        json!({"items": [{"product_id": product["id"], "quantity": 2}]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let order = body(response).await;
    let response = post(
        &app,
        &token,
        "/api/cancel-order",
        json!({"id": order["id"]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = post(
        &app,
        &token,
        "/api/delete-account",
        json!({"password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);

    // Another, deleted by an administrator.
    let other = app.activated_person().await;
    let other_id = app.user_id(&other.email).await;
    secrets.push(other.password.clone());
    let response = post(
        &app,
        &admin,
        "/api/admin/delete-user",
        json!({"user_id": other_id}),
    )
    .await;
    assert_eq!(response.status(), 200);

    deliveries_settle(&app).await;
    let events = count(&app, "select count(*) from webhook_events").await;
    assert_eq!(receiver.delivered().len() as i64, events);
    assert_once_and_in_order(&app, &receiver).await;

    let verifier = standardwebhooks::Webhook::new(&secret).expect("the secret parses");
    let mut by_account: HashMap<String, Vec<Value>> = HashMap::new();
    for request in receiver.delivered() {
        verifier
            .verify(request.body.as_bytes(), &request.headers)
            .unwrap_or_else(|e| panic!("signature of {}: {e:?}", request.body));
        assert_eq!(request.header("content-type"), "application/json");
        let stored: String = sqlx::query_scalar("select body from webhook_events where id = $1")
            .bind(Uuid::parse_str(&request.id()).expect("a uuid id"))
            .fetch_one(&app.pool)
            .await
            .expect("the event");
        assert_eq!(request.body, stored);
        let payload = request.json();
        for secret in &secrets {
            assert!(
                !carries(&payload, &request.body, secret),
                "{secret} in {}",
                request.body
            );
        }
        assert!(!request.body.contains("a private note"), "{}", request.body);
        let mut top: Vec<&String> = payload.as_object().expect("an object").keys().collect();
        top.sort();
        assert_eq!(top, ["data", "timestamp", "type"]);
        let mut all = Vec::new();
        keys(&payload["data"], &mut all);
        for key in all {
            for word in ["password", "hash", "code", "token", "secret"] {
                assert!(!key.contains(word), "{key} in {}", request.body);
            }
        }
        let account = payload["data"]["user_id"]
            .as_str()
            .expect("a user_id")
            .to_string();
        by_account.entry(account).or_default().push(payload);
    }

    let types = |account: Uuid| -> Vec<String> {
        by_account[&account.to_string()]
            .iter()
            .map(|p| p["type"].as_str().expect("a type").to_string())
            .collect()
    };
    assert_eq!(
        types(user_id),
        [
            "user.registered",
            "user.activated",
            "user.email_changed",
            "user.password_changed",
            "user.password_changed",
            "user.disabled",
            "user.enabled",
            "order.placed",
            "order.cancelled",
            "user.deleted",
        ]
    );
    assert_eq!(
        types(other_id),
        ["user.registered", "user.activated", "user.deleted"]
    );
    let mine = &by_account[&user_id.to_string()];
    assert_eq!(mine[0]["data"]["status"], "pending");
    assert_eq!(mine[0]["data"]["first_name"], "Ada");
    assert_eq!(mine[2]["data"]["email"], new_email.as_str());
    assert_eq!(mine[3]["data"]["how"], "changed");
    assert_eq!(mine[4]["data"]["how"], "reset");
    assert_eq!(mine[6]["data"]["status"], "active");
    assert_eq!(mine[7]["data"]["order"]["id"], order["id"]);
    assert_eq!(mine[7]["data"]["order"]["status"], "placed");
    assert_eq!(mine[8]["data"]["order"]["status"], "cancelled");
    assert_eq!(mine[9]["data"]["reason"], "user");
    assert_eq!(
        by_account[&other_id.to_string()][2]["data"]["reason"],
        "admin"
    );
    for payload in mine {
        let timestamp = payload["timestamp"].as_str().expect("a timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp}"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_everything_once_in_order() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks");
    let secret = new_secret();
    let app = app_with_hooks(&[&url], &secret).await;
    for _ in 0..3 {
        let person = app.activated_person().await;
        let token = app.token(&person).await;
        let response = post(
            &app,
            &token,
            "/api/change-password",
            json!({"current_password": person.password, "new_password": "another password here"}),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    // Connection refused: the first event of each account failed, and only that one was tried.
    until_db(
        &app,
        "select count(*) = 3 from webhook_deliveries
         where attempts >= 1 and last_error is not null and status = 'pending'",
        "each account's first delivery failed",
    )
    .await;
    assert_eq!(
        count(
            &app,
            "select count(*) from webhook_deliveries where attempts > 0"
        )
        .await,
        3,
        "an account's later events wait for its first"
    );
    let error: String =
        sqlx::query_scalar("select last_error from webhook_deliveries where attempts > 0 limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("an error");
    assert!(!error.is_empty());

    let receiver = Receiver::start_on(port, Mode::Fail(503)).await;
    retry_now(&app).await;
    until("the receiver answering 503 was tried", || {
        receiver.requests().len() >= 3
    })
    .await;
    until_db(
        &app,
        "select count(*) = 3 from webhook_deliveries
         where last_error like '%503%' and status = 'pending'",
        "each first delivery failed with 503",
    )
    .await;

    receiver.set_mode(Mode::Accept);
    retry_now(&app).await;
    deliveries_settle(&app).await;
    assert_eq!(receiver.delivered().len(), 9);
    assert_once_and_in_order(&app, &receiver).await;
    assert_eq!(
        count(
            &app,
            "select count(*) from webhook_deliveries where status = 'delivered'"
        )
        .await,
        9
    );
}

#[tokio::test]
async fn several_workers_never_deliver_one_event_twice() {
    let receiver = Receiver::start(Mode::Accept).await;
    let secret = new_secret();
    let app = app_with_hooks(&[&receiver.url], &secret).await;
    let settings = hook_settings(&app, &[&receiver.url], &secret);
    // Two more workers on the same database, as two more server processes would run.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let worker = WebhookWorker::from_settings(app.pool.clone(), &settings)
                .expect("a worker")
                .expect("webhooks are on");
            tokio::spawn(worker.run())
        })
        .collect();
    // 40 accounts, 5 events each, in 5 transactions of 40 events, while the workers run.
    let accounts: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
    for round in 0..5 {
        let events: Vec<Event> = accounts
            .iter()
            .map(|&id| Event::user_password_changed(id, round % 2 == 0))
            .collect();
        let mut tx = app.pool.begin().await.expect("begin");
        webhooks::publish_all(&mut tx, &settings.webhooks, &events)
            .await
            .expect("publish");
        tx.commit().await.expect("commit");
    }
    // And the test steps a fourth by hand, racing the others.
    let stepper = WebhookWorker::from_settings(app.pool.clone(), &settings)
        .expect("a worker")
        .expect("webhooks are on");
    for _ in 0..20 {
        stepper.deliver_due(&receiver.url, 8).await.expect("a step");
    }
    deliveries_settle(&app).await;
    for worker in workers {
        worker.abort();
    }
    assert_eq!(receiver.requests().len(), 200, "one request per event");
    assert_once_and_in_order(&app, &receiver).await;
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_up_another_url() {
    let hanging = Receiver::start(Mode::Hang).await;
    let healthy = Receiver::start(Mode::Accept).await;
    let secret = new_secret();
    let urls = [hanging.url.as_str(), healthy.url.as_str()];
    // Longer than the test: the hanging requests stay open throughout.
    let app = spawn_app_configured(
        &[
            ("WEBHOOK_URLS", &urls.join(",")),
            ("WEBHOOK_SECRET", &secret),
        ],
        |s| s.webhooks.timeout = Duration::from_secs(300),
    )
    .await;
    let settings = hook_settings(&app, &urls, &secret);
    // More accounts than the hanging URL has slots, so all of them are taken.
    let accounts = CONCURRENCY_PER_URL + 4;
    for _ in 0..2 {
        let events: Vec<Event> = (0..accounts)
            .map(|_| Event::user_disabled(Uuid::new_v4()))
            .collect();
        let mut tx = app.pool.begin().await.expect("begin");
        webhooks::publish_all(&mut tx, &settings.webhooks, &events)
            .await
            .expect("publish");
        tx.commit().await.expect("commit");
    }
    let person = app.activated_person().await;

    until("the healthy URL got every event", || {
        healthy.delivered().len() == 2 * accounts + 2
    })
    .await;
    // Meanwhile the hanging URL answered nothing, its slots all held.
    until("every slot of the hanging URL held", || {
        hanging.hanging() == CONCURRENCY_PER_URL
    })
    .await;
    assert!(hanging.delivered().is_empty());
    assert!(hanging.requests().iter().all(|r| r.status.is_none()));
    let user_id = app.user_id(&person.email).await.to_string();
    assert!(
        healthy
            .delivered()
            .iter()
            .any(|r| r.json()["data"]["user_id"] == user_id.as_str())
    );

    hanging.release();
    deliveries_settle(&app).await;
    assert_once_and_in_order(&app, &hanging).await;
}

#[tokio::test]
async fn a_receiver_that_never_answers_fails_after_the_timeout() {
    let hanging = Receiver::start(Mode::Hang).await;
    let secret = new_secret();
    let app = spawn_app_configured(
        &[("WEBHOOK_URLS", &hanging.url), ("WEBHOOK_SECRET", &secret)],
        |s| s.webhooks.timeout = Duration::from_secs(1),
    )
    .await;
    app.register(&Person::new()).await;
    until_db(
        &app,
        "select exists(select 1 from webhook_deliveries
                       where status = 'pending' and last_error = 'no answer within 1 s'
                         and next_attempt_at > now())",
        "the delivery timed out and waits for its retry",
    )
    .await;
    hanging.release();
}

#[tokio::test]
async fn a_delivery_failing_for_24_hours_is_dead_and_listed_for_administrators() {
    let receiver = Receiver::start(Mode::Fail(503)).await;
    let secret = new_secret();
    let app = app_with_hooks(&[&receiver.url], &secret).await;
    let (_, admin) = app.admin().await;
    let person = Person::new();
    assert_eq!(app.register(&person).await.status(), 201);
    until_db(
        &app,
        "select exists(select 1 from webhook_deliveries
                       where status = 'pending' and attempts >= 1 and last_error like '%503%')",
        "the first attempt failed",
    )
    .await;
    // A day later, the next attempt fails too.
    sqlx::query("update webhook_events set created_at = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .expect("backdate the event");
    retry_now(&app).await;
    until_db(
        &app,
        "select exists(select 1 from webhook_deliveries where status = 'dead')",
        "the delivery given up",
    )
    .await;
    assert!(receiver.delivered().is_empty());

    let response = app
        .bearer(Method::GET, "/api/admin/webhooks", &admin)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let view = body(response).await;
    assert_eq!(
        view["counts"],
        json!({"pending": 0, "delivered": 0, "dead": 1})
    );
    let dead = &view["dead"][0];
    assert_eq!(dead["type"], "user.registered");
    assert_eq!(dead["url"], receiver.url.as_str());
    assert!(dead["attempts"].as_i64().is_some_and(|n| n >= 2), "{dead}");
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{dead}"
    );
    let anonymous = reqwest::Client::new()
        .get(app.url("/api/admin/webhooks"))
        .send()
        .await
        .expect("GET");
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn nothing_is_written_when_webhooks_are_off() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let response = post(
        &app,
        &token,
        "/api/delete-account",
        json!({"password": person.password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(count(&app, "select count(*) from webhook_events").await, 0);
    assert_eq!(
        count(&app, "select count(*) from webhook_deliveries").await,
        0
    );
}

#[tokio::test]
async fn a_failed_transaction_writes_no_event() {
    let receiver = Receiver::start(Mode::Accept).await;
    let secret = new_secret();
    let app = app_with_hooks(&[&receiver.url], &secret).await;
    let (_, admin) = app.admin().await;
    let boom = app.create_product(&admin, "Boom", json!(1), 5).await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    deliveries_settle(&app).await;
    let before = count(&app, "select count(*) from webhook_events").await;
    assert_eq!(before, 2);

    // The registration fails after its event was written (its activation email cannot be
    // queued), and the order's statement fails on its line: both roll back.
    let doomed = Person::new();
    sqlx::raw_sql(&format!(
        "create function refuse() returns trigger language plpgsql as $$
         begin raise exception 'the disk caught fire'; end $$;
         create trigger refuse_mail before insert on email_outbox
             for each row when (new.recipient = '{}') execute function refuse();
         create trigger refuse_line before insert on order_items
             for each row when (new.name = 'Boom') execute function refuse();",
        doomed.email
    ))
    .execute(&app.pool)
    .await
    .expect("install the failures");
    assert_eq!(app.register(&doomed).await.status(), 500);
    let response = post(
        &app,
        &token,
        "/api/place-order",
        json!({"items": [{"product_id": boom["id"], "quantity": 1}]}),
    )
    .await;
    assert_eq!(response.status(), 500);
    // A refused order and a duplicate registration write nothing either.
    let response = post(
        &app,
        &token,
        "/api/place-order",
        json!({"items": [{"product_id": boom["id"], "quantity": 50}]}),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(app.register(&person).await.status(), 409);

    assert_eq!(
        count(&app, "select count(*) from webhook_events").await,
        before
    );
    assert_eq!(
        count(&app, "select count(*) from webhook_deliveries").await,
        before
    );
    assert_eq!(receiver.delivered().len() as i64, before);
}

#[tokio::test]
async fn a_purged_registration_is_published_as_deleted() {
    let receiver = Receiver::start(Mode::Accept).await;
    let secret = new_secret();
    let app = app_with_hooks(&[&receiver.url], &secret).await;
    let person = Person::new();
    assert_eq!(app.register(&person).await.status(), 201);
    let user_id = app.user_id(&person.email).await;
    sqlx::query("update users set created_at = now() - interval '25 hours' where id = $1")
        .bind(user_id)
        .execute(&app.pool)
        .await
        .expect("backdate the registration");
    let settings: WebhookSettings = hook_settings(&app, &[&receiver.url], &secret).webhooks;
    server::maintenance::sweep(&app.pool, &settings)
        .await
        .expect("sweep");
    deliveries_settle(&app).await;
    let types: Vec<Value> = receiver
        .delivered()
        .iter()
        .map(|r| {
            let p = r.json();
            json!([p["type"], p["data"]["user_id"], p["data"]["reason"]])
        })
        .collect();
    assert_eq!(
        types,
        [
            json!(["user.registered", user_id, null]),
            json!(["user.deleted", user_id, "expired"]),
        ]
    );
}
