use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use server::startup::connect_with_retry;

use serde_json::json;

use crate::helpers::{TestApp, create_database, free_port, spawn_app, test_settings};

const SERVER: &str = env!("CARGO_BIN_EXE_server");

/// How long a test waits for the binary to do what it must (exit, stop listening) before it
/// gives up: a guard against a hang, far above what any machine needs and above every time
/// limit the tests configure, not a claim about speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Runs the server binary with a clean environment plus `vars`, and waits for it to exit (for
/// at most `limit`, a guard against a hang).
fn run_server(vars: &[(&str, &str)], limit: Duration) -> std::process::Output {
    run_command(&[], vars, limit)
}

/// [`run_server`] with arguments (a subcommand).
fn run_command(args: &[&str], vars: &[(&str, &str)], limit: Duration) -> std::process::Output {
    let mut child = Command::new(SERVER)
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let started = Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the server was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn version_prints_the_crate_version_and_the_commit_when_the_build_knew_it() {
    for flag in ["--version", "-V"] {
        // No setting at all, and no database: the version needs neither.
        let output = Command::new(SERVER)
            .arg(flag)
            .env_clear()
            .output()
            .expect("run the server binary");
        assert!(output.status.success(), "{flag}: {output:?}");
        assert!(output.stderr.is_empty(), "{flag}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("{flag}: one line: {stdout:?}"));
        let rest = line
            .strip_prefix(concat!("server ", env!("CARGO_PKG_VERSION")))
            .unwrap_or_else(|| panic!("{flag}: {line}"));
        // ` (3f2a9c1e7b)` when the build ran in a git checkout, nothing otherwise.
        let commit = rest.strip_prefix(" (").and_then(|r| r.strip_suffix(')'));
        assert!(
            rest.is_empty()
                || commit.is_some_and(|c| c.len() >= 7 && c.chars().all(|c| c.is_ascii_hexdigit())),
            "{flag}: {line}"
        );
    }
}

#[test]
fn an_invalid_setting_stops_startup_with_one_clear_line() {
    for (var, value) in [
        ("LOG_FORMAT", "xml"),
        ("LEPTOS_SITE_ADDR", "nowhere"),
        ("DATABASE_URL", "mysql://x"),
        ("METRICS_ADDR", "everywhere"),
    ] {
        let output = run_server(&[(var, value)], HANG_GUARD);
        assert!(!output.status.success(), "{var}={value} must stop start-up");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line, got: {stderr}");
        assert!(lines[0].contains(var), "names {var}: {stderr}");
    }
}

#[test]
fn production_refuses_development_settings_with_one_clear_line_each() {
    let good = [
        ("APP_ENV", "production"),
        ("SECRET_KEY", "a-production-secret-of-thirty-two-chars"),
        ("SMTP_URL", "smtp://127.0.0.1:1"),
        ("APP_BASE_URL", "https://accounts.example.com"),
        // Never reached: the settings are refused before any connection.
        ("DATABASE_URL", "postgres://accounts:x@127.0.0.1:1/accounts"),
    ];
    for (var, value, says) in [
        (
            "SECRET_KEY",
            server::settings::DEVELOPMENT_SECRET_KEY,
            "is the development key",
        ),
        ("SMTP_URL", "", "required in production"),
        (
            "APP_BASE_URL",
            "http://accounts.example.com",
            "is not https",
        ),
        ("APP_BASE_URL", "", "is not https"),
    ] {
        let vars: Vec<(&str, &str)> = good
            .iter()
            .copied()
            .filter(|(name, _)| *name != var)
            .chain([(var, value)])
            .collect();
        let output = run_server(&vars, HANG_GUARD);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{var}={value:?} must stop start-up"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line, got: {stderr}");
        assert!(
            lines[0].starts_with(&format!("error: invalid {var}: ")) && lines[0].contains(says),
            "{var}={value:?}: {stderr}"
        );
        assert!(
            !lines[0].contains(server::settings::DEVELOPMENT_SECRET_KEY),
            "never echoes the key: {stderr}"
        );
        assert!(output.stdout.is_empty(), "nothing else: {output:?}");
    }
}

#[tokio::test]
async fn startup_gives_up_on_an_unreachable_postgres_after_its_timeout() {
    let settings = test_settings(
        "postgres://accounts:x@127.0.0.1:1/accounts",
        &[("DATABASE_CONNECT_TIMEOUT_SECS", "1")],
    );
    // It gives up on its own: the guard only stops a retry loop that never ends. That the
    // configured second is the bound is what the message says, not a stopwatch.
    let error = tokio::time::timeout(HANG_GUARD, connect_with_retry(&settings))
        .await
        .expect("gives up rather than retrying for ever")
        .expect_err("nothing listens on port 1");
    let message = format!("{error:#}");
    assert!(
        message.contains("could not connect to Postgres at 127.0.0.1:1/accounts within 1 s"),
        "{message}"
    );
    assert!(!message.contains(":x@"), "never the password: {message}");
}

#[test]
fn the_binary_exits_non_zero_when_postgres_stays_down() {
    let output = run_server(
        &[
            ("DATABASE_URL", "postgres://accounts:x@127.0.0.1:1/accounts"),
            ("DATABASE_CONNECT_TIMEOUT_SECS", "1"),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
            ("LOG_FORMAT", "json"),
        ],
        HANG_GUARD,
    );
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Postgres is not answering yet"),
        "logs its retries: {stdout}"
    );
    // Given up after the configured second, not the default 30 s.
    assert!(
        stdout.contains("could not connect to Postgres at 127.0.0.1:1/accounts within 1 s"),
        "{stdout}"
    );
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}

/// `max_connections` less the reserved slots, read on the tests' Postgres.
async fn available_connections(conn: &mut sqlx::PgConnection) -> u32 {
    let (max, superuser, reserved): (i32, i32, i32) = sqlx::query_as(
        "select current_setting('max_connections')::int4,
                current_setting('superuser_reserved_connections')::int4,
                coalesce(current_setting('reserved_connections', true), '0')::int4",
    )
    .fetch_one(conn)
    .await
    .expect("read the limits");
    u32::try_from(max - superuser - reserved).expect("a positive limit")
}

#[tokio::test]
async fn a_pool_postgres_cannot_hold_stops_serve_and_migrate_with_the_numbers() {
    let (database_url, _) = create_database().await;
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&database_url)
        .await
        .expect("connect");
    let available = available_connections(&mut conn).await;
    let too_many = (available + 1).to_string();
    let limit = format!("reserved = {available}");
    let vars = [
        ("DATABASE_URL", database_url.as_str()),
        ("DATABASE_MAX_CONNECTIONS", too_many.as_str()),
        ("DATABASE_CONNECT_TIMEOUT_SECS", "10"),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        ("METRICS_ADDR", "off"),
        ("LOG_FORMAT", "json"),
    ];

    let served = run_server(&vars, HANG_GUARD);
    assert_eq!(served.status.code(), Some(1), "{served:?}");
    let stdout = String::from_utf8_lossy(&served.stdout);
    let refusal = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON logs"))
        .find(|line| line["level"] == "ERROR")
        .unwrap_or_else(|| panic!("an error line: {stdout}"));
    let message = refusal["message"].as_str().expect("a message");
    assert!(
        message.contains(&format!("DATABASE_MAX_CONNECTIONS is {too_many}"))
            && message.contains(&limit),
        "{message}"
    );

    let migrated = run_command(&["migrate"], &vars, HANG_GUARD);
    assert_eq!(migrated.status.code(), Some(1), "{migrated:?}");
    let stderr = String::from_utf8_lossy(&migrated.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("error: DATABASE_MAX_CONNECTIONS is {too_many}"))
            && stderr.contains(&limit),
        "{stderr}"
    );
    // Refused before any migration: a Job with a pool that cannot fit changes nothing.
    let migrations: Option<String> =
        sqlx::query_scalar("select to_regclass('_sqlx_migrations')::text")
            .fetch_one(&mut conn)
            .await
            .expect("look for the migrations table");
    assert_eq!(migrations, None);
}

#[tokio::test]
async fn a_pool_that_fits_only_alone_is_a_warning_with_the_numbers() {
    let (database_url, _) = create_database().await;
    // This connection stays open while the command runs: someone else is always connected.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&database_url)
        .await
        .expect("connect");
    let available = available_connections(&mut conn).await;
    let every_slot = available.to_string();
    let migrated = run_command(
        &["migrate"],
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("DATABASE_MAX_CONNECTIONS", every_slot.as_str()),
            ("DATABASE_CONNECT_TIMEOUT_SECS", "10"),
        ],
        HANG_GUARD,
    );
    assert!(migrated.status.success(), "{migrated:?}");
    let stderr = String::from_utf8_lossy(&migrated.stderr);
    assert!(
        stderr.starts_with("warning: Postgres may run out of connections: ")
            && stderr.contains(&format!("+ this pool of {available} = "))
            && stderr.contains(&format!("reserved = {available}"))
            && stderr.contains("1 in all"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&migrated.stdout).trim(),
        "the database's migrations are applied"
    );
    drop(conn);
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_and_json_logs_carry_request_ids() {
    let (database_url, _) = create_database().await;
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(SERVER)
        .env_clear()
        .envs([
            ("DATABASE_URL", database_url.as_str()),
            ("LEPTOS_SITE_ADDR", &address),
            ("METRICS_ADDR", "127.0.0.1:0"),
            ("APP_ENV", "production"),
            ("SECRET_KEY", "a-production-secret-of-thirty-two-chars"),
            ("SMTP_URL", "smtp://127.0.0.1:1"),
            ("APP_BASE_URL", "https://accounts.example.com"),
            ("RUST_LOG", "info"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server binary");

    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("http://{address}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = client
        .get(format!("http://{address}/healthz"))
        .header("x-request-id", "find-me-in-the-logs")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    sigterm(&child);
    // Exit status 0 says it drained rather than running out its grace (20 s, the default):
    // the wait itself only guards against a hang.
    let status = exit_status(&mut child, HANG_GUARD).await;
    assert!(status.success(), "exit status {status}");

    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["request.id"] == "find-me-in-the-logs"
                && l["span"]["http.path"] == "/healthz"),
        "a log line of the request carries its id: {stdout}"
    );
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))),
        "{stdout}"
    );
    // The 4-digit code is below OWASP ASVS's 20 bits: start-up says so, and what compensates.
    let warning = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("weaker than OWASP ASVS"))
        })
        .unwrap_or_else(|| panic!("no weak-code warning: {stdout}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["code.bits"], "13.3");
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("Basic Auth"))
    );
}

/// The binary on `app`'s database (the accounts and tokens `app` made work there too), on a
/// free port; returns the child and its address once `/readyz` answers.
async fn start_binary_on(app: &TestApp, vars: &[(&str, &str)]) -> (std::process::Child, String) {
    start_binary_with(app, vars, Stdio::null()).await
}

/// [`start_binary_on`], its standard output going to `stdout`.
async fn start_binary_with(
    app: &TestApp,
    vars: &[(&str, &str)],
    stdout: Stdio,
) -> (std::process::Child, String) {
    let address = format!("127.0.0.1:{}", free_port());
    let smtp_url = app.mail.url();
    let child = Command::new(SERVER)
        .env_clear()
        .envs([
            ("DATABASE_URL", app.database_url.as_str()),
            ("LEPTOS_SITE_ADDR", &address),
            ("METRICS_ADDR", "127.0.0.1:0"),
            ("SMTP_URL", &smtp_url),
            ("RUST_LOG", "warn"),
        ])
        .envs(vars.iter().copied())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server binary");
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("http://{address}/readyz")).await
            && r.status() == 200
        {
            break;
        }
        assert!(
            started.elapsed() < HANG_GUARD,
            "the server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, address)
}

/// Holds `email`'s account row in a transaction of its own until it is dropped or rolled back.
async fn lock_account(app: &TestApp, email: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let user_id = app.user_id(email).await;
    let mut lock = app.pool.begin().await.expect("begin");
    sqlx::query("select 1 from users where id = $1 for update")
        .bind(user_id)
        .execute(&mut *lock)
        .await
        .expect("lock the row");
    lock
}

/// Waits until some query waits for a lock: the held request is in flight.
async fn until_a_query_waits_for_a_lock(app: &TestApp) {
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the request never reached the locked row"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
}

async fn exit_status(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figures for the notes (--nocapture)"
)]
async fn sigterm_lets_the_request_in_flight_finish_refuses_new_connections_and_exits_0() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    // Time limits far above anything the test waits for: the held request stays in flight until
    // the test releases it, however slow the machine, and the exit is the drain's, not the
    // grace's (which would exit 1).
    let (mut child, address) = start_binary_on(
        &app,
        &[
            ("SHUTDOWN_GRACE_SECS", "600"),
            ("REQUEST_TIMEOUT_SECS", "600"),
        ],
    )
    .await;

    let lock = lock_account(&app, &person.email).await;
    let in_flight = tokio::spawn(
        reqwest::Client::new()
            .post(format!("http://{address}/api/update-profile"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"first_name": "Grace"}))
            .send(),
    );
    until_a_query_waits_for_a_lock(&app).await;
    // Before the signal is sent: the figures below are then never shorter than the truth.
    let signalled = Instant::now();
    sigterm(&child);

    // The listener closes: a new connection is refused while the request is still held.
    loop {
        match tokio::net::TcpStream::connect(&address).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            // A connection the kernel took while the listener was closing is reset, not
            // refused: the listener is on its way out, so ask again until it refuses.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connecting failed otherwise: {e}"),
            Ok(_) => {}
        }
        assert!(
            signalled.elapsed() < HANG_GUARD,
            "still accepting connections {HANG_GUARD:?} after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_after = signalled.elapsed();
    assert!(
        !in_flight.is_finished(),
        "the held request is still in flight"
    );
    assert!(child.try_wait().expect("poll").is_none(), "still running");

    lock.rollback().await.expect("release the row");
    let response = in_flight.await.expect("task").expect("an answer");
    assert_eq!(response.status(), 200);
    let profile: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(profile["first_name"], "Grace", "{profile}");

    let status = exit_status(&mut child, HANG_GUARD).await;
    assert!(status.success(), "exit status {status}");
    println!(
        "refused new connections {refused_after:?} after SIGTERM; exited 0 {:?} after it",
        signalled.elapsed()
    );
}

#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figures for the notes (--nocapture)"
)]
async fn after_the_shutdown_grace_the_server_exits_1_without_waiting_for_the_request() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    // The request's own time limit far above the grace and the wait below: only the grace can
    // end it, however slow the machine.
    let (mut child, address) = start_binary_on(
        &app,
        &[
            ("SHUTDOWN_GRACE_SECS", "1"),
            ("REQUEST_TIMEOUT_SECS", "600"),
        ],
    )
    .await;

    let lock = lock_account(&app, &person.email).await;
    let in_flight = tokio::spawn(
        reqwest::Client::new()
            .post(format!("http://{address}/api/update-profile"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"first_name": "Grace"}))
            .send(),
    );
    until_a_query_waits_for_a_lock(&app).await;
    // Taken before the signal is sent, so `took` is never shorter than the time from the signal
    // to the exit: at least the grace.
    let signalled = Instant::now();
    sigterm(&child);
    // The request stays held (the lock is the test's until after the exit): the grace runs out.
    let status = exit_status(&mut child, HANG_GUARD).await;
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(1), "exit status {status}");
    assert!(took >= Duration::from_secs(1), "exited after {took:?}");
    assert!(
        in_flight.await.expect("task").is_err(),
        "the held request got no answer"
    );
    lock.rollback().await.expect("release the row");
    // Its transaction never committed.
    let name: String = sqlx::query_scalar("select first_name from users where email = $1")
        .bind(&person.email)
        .fetch_one(&app.pool)
        .await
        .expect("the account");
    assert_eq!(name, "Ada");
    println!("exited 1 {took:?} after SIGTERM with a 1 s grace");
}

/// An internal error while a page is rendered on the server (its data comes from calling the
/// server function directly, not through an HTTP answer) is logged once, with its cause and the
/// id of the request the page answered.
#[tokio::test]
async fn an_internal_error_while_rendering_a_page_is_logged_once_with_its_request_id() {
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let (mut child, address) = start_binary_with(
        &app,
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "error")],
        Stdio::piped(),
    )
    .await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("a client");
    let response = client
        .post(format!("http://{address}/api/login"))
        .json(&json!({"email": person.email, "password": person.password}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), 200);

    // The account page's security history now fails to load: its table is a view that raises
    // an error, after counting the read in a sequence (which a failed statement cannot roll
    // back), so the test knows how many reads failed however often the page asked.
    for statement in [
        "alter table security_events rename to security_events_elsewhere",
        "create sequence failed_history_reads",
        "create function failing_history() returns setof security_events_elsewhere
         language plpgsql as $$
         begin
             perform nextval('failed_history_reads');
             raise exception 'the security history is out of reach';
         end $$",
        "create view security_events as select * from failing_history()",
    ] {
        sqlx::query(statement)
            .execute(&app.pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let page = client
        .get(format!("http://{address}/account"))
        .send()
        .await
        .expect("the account page");
    let request_id = page
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id")
        .to_owned();
    // The page is still served (its other parts render); the failure goes to the log.
    assert_eq!(page.status(), 200);
    page.text().await.expect("the whole page");
    let (failed_reads, read): (i64, bool) =
        sqlx::query_as("select last_value, is_called from failed_history_reads")
            .fetch_one(&app.pool)
            .await
            .expect("count the failed reads");
    let failed_reads = if read { failed_reads } else { 0 };

    sigterm(&child);
    exit_status(&mut child, HANG_GUARD).await;
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let logged: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "internal error")
        .collect();
    assert!(failed_reads >= 1, "the page asked for its history");
    assert_eq!(
        logged.len() as i64,
        failed_reads,
        "each failure logged exactly once: {stdout}"
    );
    for line in logged.iter().map(ToString::to_string) {
        assert!(
            line.contains("the security history is out of reach"),
            "with its cause: {line}"
        );
        assert!(
            line.contains(&request_id),
            "with the request id {request_id}: {line}"
        );
    }
}
