use std::{collections::HashMap, sync::Once};

pub use crate::smtp::MailSink;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use server::{
    email_worker::EmailWorker,
    settings::Settings,
    startup::{Application, connect_with_retry},
};
use sqlx::{Connection, PgConnection, PgPool};

/// How long [`TestApp::db_reaches`] and [`TestApp::outbox_reaches`] wait for the state they
/// poll for: a guard against a hang, far above what any machine needs, not a claim about speed.
pub const DB_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// How long the test client waits for an answer before failing the test.
pub const REQUEST_WITHIN: std::time::Duration = std::time::Duration::from_secs(120);

/// The server under test, on its own database and port.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub db_name: String,
    pub database_url: String,
    /// The SMTP server the app sends to (unless the test set its own `SMTP_URL`).
    pub mail: MailSink,
    pub worker: EmailWorker,
    /// `http://host:port` of the metrics listener; `None` when the test turned it off.
    pub metrics_address: Option<String>,
}

/// A person to register: unique email and phone on every call.
#[derive(Clone, Debug)]
pub struct Person {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: String,
    pub password: String,
}

impl Person {
    pub fn new() -> Self {
        let n = uuid::Uuid::new_v4().as_u128();
        Self {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: format!("ada.{:x}@example.com", n & 0xffff_ffff_ffff),
            // London numbers 020 7xxx xxxx are valid; seven random digits keep them unique.
            phone_number: format!("+44 20 7{:07}", n % 10_000_000),
            password: format!("analytical engine {:x}", n & 0xffff),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone_number": self.phone_number,
            "password": self.password,
        })
    }
}

/// The JSON body of a response.
pub async fn body(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// A code of the same length that is not `code`.
pub fn other_code(code: &str, offset: u64) -> String {
    let n = code.parse::<u64>().expect("digits");
    let modulus = 10u64.pow(u32::try_from(code.len()).expect("a short code"));
    format!("{:0width$}", (n + offset) % modulus, width = code.len())
}

/// A local port nothing listens on (the OS picked it, then it was released).
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("an address").port()
}

pub fn basic(email: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{email}:{password}")))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    pub async fn register(&self, person: &Person) -> reqwest::Response {
        self.post_json("/api/register", &person.json()).await
    }

    /// Registers and returns the code from the activation email.
    pub async fn register_and_get_code(&self, person: &Person) -> String {
        let response = self.register(person).await;
        assert_eq!(
            response.status(),
            201,
            "{}",
            response.text().await.unwrap_or_default()
        );
        self.mail.wait_for(&person.email).await.code()
    }

    /// Registers and activates a new person.
    pub async fn activated_person(&self) -> Person {
        let person = Person::new();
        let code = self.register_and_get_code(&person).await;
        let response = self.activate(&person, &code).await;
        assert_eq!(response.status(), 200);
        person
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/api/login", &json!({"email": email, "password": password}))
            .await
    }

    /// A bearer token for `person`.
    pub async fn token(&self, person: &Person) -> String {
        let response = self
            .post_json(
                "/api/token",
                &json!({"email": person.email, "password": person.password}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        body["token"].as_str().expect("a token").to_string()
    }

    /// A request with a bearer token and a client without cookies.
    pub fn bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn activate(&self, person: &Person, code: &str) -> reqwest::Response {
        self.post_with_auth(
            "/api/activate",
            &basic(&person.email, &person.password),
            &json!({"code": code}),
        )
        .await
    }

    pub async fn resend(&self, person: &Person) -> reqwest::Response {
        self.post_with_auth(
            "/api/resend-code",
            &basic(&person.email, &person.password),
            &json!({}),
        )
        .await
    }

    pub async fn post_with_auth(
        &self,
        path: &str,
        authorization: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("authorization", authorization)
            .json(body)
            .send()
            .await
            .expect("POST request")
    }

    pub async fn user_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from users")
            .fetch_one(&self.pool)
            .await
            .expect("count users")
    }

    /// Waits until the newest outbox row has `status`; returns its text body and last error.
    /// Gives up after [`DB_WITHIN`].
    pub async fn outbox_reaches(&self, status: &str) -> (Option<String>, Option<String>) {
        let deadline = tokio::time::Instant::now() + DB_WITHIN;
        loop {
            let (now, body, error): (String, Option<String>, Option<String>) = sqlx::query_as(
                "select status, text_body, last_error from email_outbox order by id desc limit 1",
            )
            .fetch_one(&self.pool)
            .await
            .expect("an outbox row");
            if now == status {
                return (body, error);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the email is still {now}, not {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits until `sql`, a query answering one boolean, answers true; `what` names the awaited
    /// state in the failure message. Gives up after [`DB_WITHIN`].
    pub async fn db_reaches(&self, sql: &str, what: &str) {
        let deadline = tokio::time::Instant::now() + DB_WITHIN;
        loop {
            let reached: bool = sqlx::query_scalar(sql)
                .fetch_one(&self.pool)
                .await
                .expect("a yes-or-no query");
            if reached {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still not {what} after {DB_WITHIN:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits until no outbox row is pending any more (each one sent, expired or dead). A row is
    /// marked sent only once the SMTP server took it, so the sink then holds every message.
    pub async fn outbox_settles(&self) {
        self.db_reaches(
            "select not exists(select 1 from email_outbox where status = 'pending')",
            "every queued email handled",
        )
        .await;
    }

    /// The kinds of a person's security history, oldest first.
    pub async fn history(&self, email: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select e.kind from security_events e join users u on u.id = e.user_id
             where u.email = $1 order by e.id",
        )
        .bind(email)
        .fetch_all(&self.pool)
        .await
        .expect("the history")
    }

    /// Moves a person's code `secs` into the past (issue and expiry), as if time had passed.
    pub async fn age_code(&self, email: &str, secs: f64) {
        sqlx::query(
            "update one_time_codes c set issued_at = issued_at - make_interval(secs => $2),
                 expires_at = expires_at - make_interval(secs => $2)
             from users u where u.id = c.user_id and lower(u.email) = lower($1)",
        )
        .bind(email)
        .bind(secs)
        .execute(&self.pool)
        .await
        .expect("age the code");
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST request")
    }
}

/// What a run of the `server` binary printed.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl TestApp {
    /// Runs the real `server` binary with `args` against this app's database, `stdin` piped
    /// in (so it is not a terminal).
    pub async fn cli(&self, args: &[&str], stdin: &str) -> CliRun {
        use tokio::io::AsyncWriteExt as _;

        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("DATABASE_CONNECT_TIMEOUT_SECS", "10")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the server binary");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("write stdin");
        drop(input);
        let output =
            tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
                .await
                .expect("the command finishes within a minute")
                .expect("the command's output");
        CliRun {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `server create-admin` for `person`, with `password` as the line on standard input.
    pub async fn create_admin(&self, person: &Person, password: &str) -> CliRun {
        let args = [
            "create-admin",
            "--email",
            &person.email,
            "--first-name",
            &person.first_name,
            "--last-name",
            &person.last_name,
            "--phone",
            &person.phone_number,
        ];
        self.cli(&args, &format!("{password}\n")).await
    }

    /// An administrator made with `server create-admin`, and a bearer token for them.
    pub async fn admin(&self) -> (Person, String) {
        let person = Person::new();
        let run = self.create_admin(&person, &person.password).await;
        assert!(run.success, "create-admin failed: {run:?}");
        let token = self.token(&person).await;
        (person, token)
    }

    /// The id of the account with `email`.
    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        sqlx::query_scalar("select id from users where lower(email) = lower($1)")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .expect("the account exists")
    }
}

/// Asserts the status of a JSON error response and returns its `error` code.
pub async fn error_code(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message for people: {body}"
    );
    body["error"].as_str().expect("an error code").to_owned()
}

/// The Postgres server the tests use: `make test` starts a throwaway one and sets this.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: run the tests with `make test` or `make unit`, \
         or point DATABASE_URL at a Postgres whose role may create databases",
    )
}

/// Replaces the database name at the end of a Postgres URL.
pub fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (server, _) = base.rsplit_once('/').expect("a Postgres URL has a path");
    format!("{server}/{name}")
}

/// Settings as the tests want them: the given database, any free port, the workspace's site.
pub fn test_settings(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.into()),
        ("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into()),
        (
            "LEPTOS_SITE_ROOT".into(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").into(),
        ),
        ("DATABASE_CONNECT_TIMEOUT_SECS".into(), "5".into()),
        // Many apps run at once: each metrics listener on a port of its own.
        ("METRICS_ADDR".into(), "127.0.0.1:0".into()),
        (
            "RUST_LOG".into(),
            std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).into(), (*v).into());
    }
    Settings::from_vars(vars).expect("test settings parse")
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn create_database() -> (String, String) {
    let admin = admin_database_url();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&with_database(&admin, "postgres"))
        .await
        .expect("connect to the test Postgres");
    sqlx::query(&format!(r#"create database "{name}""#))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    (with_database(&admin, &name), name)
}

/// Logs to the test output when TEST_LOG is set (e.g. `TEST_LOG=debug make unit`).
fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let settings = test_settings("postgres://localhost/unused", &[]);
            server::telemetry::init(&settings);
        }
    });
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app exactly as `main` does (migrations included) on a fresh database.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_configured(overrides, |_| {}).await
}

/// [`spawn_app_with`], with `tweak` applied to the parsed settings: for what no variable sets
/// (the webhook timeout).
pub async fn spawn_app_configured(
    overrides: &[(&str, &str)],
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    init_logging();
    let (database_url, db_name) = create_database().await;
    let mail = MailSink::start().await;
    let mut vars = vec![("SMTP_URL", mail.url())];
    vars.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_string())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut settings = test_settings(&database_url, &vars);
    tweak(&mut settings);
    let pool = connect_with_retry(&settings)
        .await
        .expect("connect to the test database");
    let app = Application::build(settings).await.expect("build the app");
    let address = format!("http://{}", app.local_addr());
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let worker = app.email_worker();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            // A request that never gets an answer fails its test instead of hanging the run: a
            // guard, far above any answer's time on any machine.
            .timeout(REQUEST_WITHIN)
            .build()
            .expect("a client"),
        pool,
        db_name,
        database_url,
        mail,
        worker,
        metrics_address,
    }
}
