//! `deploy/`: the settings checklist agrees with the code, the systemd unit verifies and agrees
//! with the server's time limits, and a backup restores into a fresh database that the real
//! server binary then runs on.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{Value, json};
use server::settings::{AppEnv, Settings};
use sqlx::{Connection, PgConnection};

use crate::helpers::{create_database, free_port, spawn_app};

const SERVER: &str = env!("CARGO_BIN_EXE_server");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the server crate")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// One row of the checklist's table: the variable and whether production refuses to start
/// without it (its last column starts with `**required**`).
fn checklist() -> BTreeMap<String, bool> {
    let mut rows = BTreeMap::new();
    for line in read("deploy/CHECKLIST.md").lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let (name, _) = rest.split_once('`').expect("| `NAME` | …");
        let production = line.rsplit('|').nth(1).expect("a production column").trim();
        let required = production.starts_with("**required**");
        assert!(
            rows.insert(name.to_string(), required).is_none(),
            "{name} is listed twice in deploy/CHECKLIST.md"
        );
    }
    rows
}

/// Every variable the code reads: the fields of `Env` in `app/src/infra/config.rs` (each field
/// is its variable in lower case), and the literal names in `std::env::var`/`var_os` calls in
/// the app and server sources.
fn variables_read() -> BTreeSet<String> {
    let config = read("app/src/infra/config.rs");
    let body = config
        .split_once("struct Env {")
        .expect("config.rs defines struct Env")
        .1
        .split_once('}')
        .expect("struct Env ends")
        .0;
    let mut names: BTreeSet<String> = body
        .lines()
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(field, _)| field.trim().to_uppercase())
        .filter(|field| !field.is_empty() && !field.starts_with("//"))
        .collect();
    assert!(names.len() > 30, "parsed struct Env: {names:?}");
    for dir in ["app/src", "server/src"] {
        for source in rust_files(&workspace().join(dir)) {
            let text = std::fs::read_to_string(&source).expect("read a source file");
            for call in ["env::var(\"", "env::var_os(\""] {
                for piece in text.split(call).skip(1) {
                    let name = piece.split('"').next().unwrap_or_default();
                    names.insert(name.to_string());
                }
            }
        }
    }
    names
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_checklist_lists_exactly_the_variables_the_server_reads() {
    let listed: BTreeSet<String> = checklist().into_keys().collect();
    let read = variables_read();
    let missing: Vec<_> = read.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&read).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "deploy/CHECKLIST.md is out of date: add {missing:?}, remove {stale:?}"
    );
}

/// `KEY=VALUE` lines of a systemd environment file, comments and blank lines skipped.
fn environment_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("KEY=VALUE");
            (key.to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}

/// The example environment file with its one blank left to fill in (`SECRET_KEY`) filled.
fn filled_example() -> Vec<(String, String)> {
    environment_file(&read("deploy/systemd/accounts.env.example"))
        .into_iter()
        .map(|(key, value)| match key.as_str() {
            "SECRET_KEY" => (key, "k".repeat(64)),
            _ => (key, value),
        })
        .collect()
}

#[test]
fn the_example_environment_is_refused_until_its_secret_is_set_then_runs_in_production() {
    let example = environment_file(&read("deploy/systemd/accounts.env.example"));
    let err = Settings::from_vars(example).expect_err("SECRET_KEY is blank");
    assert_eq!(err.var, "SECRET_KEY", "{err}");

    let settings = Settings::from_vars(filled_example()).expect("the filled example parses");
    assert_eq!(settings.env, AppEnv::Production);
    assert!(settings.http.secure_cookies());
    assert!(
        !settings.http.trusted_proxies.is_empty(),
        "behind a balancer"
    );
}

/// The checklist's **required** marks are what the server enforces: without each the filled
/// example is refused, naming it (`APP_ENV` aside: without it nothing is production); without
/// any other variable it is accepted.
#[test]
fn the_checklist_marks_as_required_exactly_what_production_refuses_to_start_without() {
    let example = filled_example();
    let listed = checklist();
    for (name, required) in &listed {
        let without: Vec<(String, String)> =
            example.iter().filter(|(k, _)| k != name).cloned().collect();
        match (Settings::from_vars(without), required) {
            (Err(err), true) => assert_eq!(&err.var, name, "{err}"),
            (Ok(_), false) => {}
            // Production itself: without it the same settings run as development.
            (Ok(s), true) if name == "APP_ENV" => assert_eq!(s.env, AppEnv::Development),
            (Err(err), false) => {
                panic!("production refuses to start without {name} ({err}): mark it **required**")
            }
            (Ok(s), true) => panic!(
                "{name} is marked **required** but production starts without it ({:?})",
                s.env
            ),
        }
        if *required {
            assert!(
                example.iter().any(|(k, _)| k == name),
                "the example environment file sets {name}"
            );
        }
    }
}

/// The `KEY=value` of `key` in the unit's text (the last one wins, as in systemd).
fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
        .next_back()
}

fn systemd_analyze(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}): install Debian's systemd package \
                 (scripts/tools.sh deploy)"
            )
        })
}

/// `systemd-analyze verify` (it exits 0 on a key it does not understand and only warns, so any
/// output fails too) on the unit with `ExecStart` pointing at the server binary just built (it
/// checks the executable exists), and its offline security review at "OK" exposure (≤ 2.0).
#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let unit = read("deploy/systemd/accounts.service");
    let exec = unit_value(&unit, "ExecStart").expect("an ExecStart");
    let dir = std::env::temp_dir().join(format!("accounts-unit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(
        dir.join("accounts.service"),
        unit.replace(&format!("ExecStart={exec}"), &format!("ExecStart={SERVER}")),
    )
    .expect("write the unit");

    let verify = systemd_analyze(&["verify", "./accounts.service"], &dir);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");

    let security = systemd_analyze(
        &[
            "security",
            "--offline=yes",
            "--threshold=20",
            "./accounts.service",
        ],
        &dir,
    );
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(
        security.status.success(),
        "exposure above 2.0:\n{report}{}",
        String::from_utf8_lossy(&security.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);

    for (key, value) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("CapabilityBoundingSet", ""),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("KillSignal", "SIGTERM"),
        ("Restart", "on-failure"),
        ("EnvironmentFile", "/etc/accounts/accounts.env"),
    ] {
        assert_eq!(unit_value(&unit, key), Some(value), "{key}");
    }
}

/// systemd's SIGKILL after `TimeoutStopSec` must not cut the server's own grace short, neither
/// with the default `SHUTDOWN_GRACE_SECS` nor with the example's.
#[test]
fn the_unit_waits_longer_than_the_shutdown_grace() {
    let unit = read("deploy/systemd/accounts.service");
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .expect("a TimeoutStopSec")
        .parse()
        .expect("whole seconds");
    let default = Settings::from_vars(Vec::<(String, String)>::new()).expect("defaults");
    let example = Settings::from_vars(filled_example()).expect("the filled example parses");
    for grace in [default.http.shutdown_grace, example.http.shutdown_grace] {
        assert!(
            Duration::from_secs(stop) >= grace + Duration::from_secs(5),
            "TimeoutStopSec={stop} leaves no margin over a grace of {grace:?}"
        );
    }
}

/// Rows of every table of the database (`_sqlx_migrations` included).
async fn row_counts(url: &str) -> BTreeMap<String, i64> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public' order by 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("list the tables");
    let mut counts = BTreeMap::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!(r#"select count(*) from "{table}""#))
            .fetch_one(&mut conn)
            .await
            .expect("count rows");
        counts.insert(table, count);
    }
    counts
}

/// The migrations' record: version, checksum, when applied.
async fn migrations(url: &str) -> Vec<(i64, Vec<u8>, String)> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::query_as(
        "select version, checksum, installed_on::text from _sqlx_migrations order by version",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read _sqlx_migrations")
}

fn backup(args: &[&str]) -> std::process::Output {
    Command::new(workspace().join("deploy/backup.sh"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run deploy/backup.sh")
}

/// The server binary, in production mode, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn drop_database(name: &str) {
    let admin = crate::helpers::admin_database_url();
    if let Ok(mut conn) =
        PgConnection::connect(&crate::helpers::with_database(&admin, "postgres")).await
    {
        let _ = sqlx::query(&format!(r#"drop database if exists "{name}" with (force)"#))
            .execute(&mut conn)
            .await;
    }
}

#[tokio::test]
async fn a_backup_restores_into_a_fresh_database_and_the_server_runs_on_it() {
    // A database filled through the real app: an administrator, a product, an active account
    // that signed in and ordered, a pending one, their emails.
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let response = app
        .bearer(Method::POST, "/api/create-product", &admin)
        .json(&json!({"name": "Tea", "description": "Loose leaf", "price": "2.20", "stock": 10}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    let tea: Value = response.json().await.expect("JSON");
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let response = app
        .bearer(Method::POST, "/api/place-order", &token)
        .json(&json!({"items": [{"product_id": tea["id"], "quantity": 3}]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    let pending = crate::helpers::Person::new();
    assert_eq!(app.register(&pending).await.status(), 201);
    app.outbox_settles().await;

    let dir = std::env::temp_dir().join(format!("accounts-backup-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a backup directory");
    let dumped = backup(&["dump", &app.database_url, dir.to_str().expect("UTF-8")]);
    assert!(dumped.status.success(), "{dumped:?}");
    let file = String::from_utf8(dumped.stdout).expect("UTF-8");
    let file = file.trim();
    let name = Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name");
    assert!(
        name.starts_with("accounts-") && name.ends_with("Z.dump"),
        "dated: {name}"
    );
    assert!(
        std::fs::read(file).expect("the dump").starts_with(b"PGDMP"),
        "custom format"
    );
    let source_counts = row_counts(&app.database_url).await;
    let source_migrations = migrations(&app.database_url).await;
    assert!(
        source_counts["users"] >= 3 && source_counts["orders"] == 1,
        "{source_counts:?}"
    );

    let (restored_url, restored_name) = create_database().await;
    let restored = backup(&["restore", file, &restored_url]);
    assert!(restored.status.success(), "{restored:?}");
    // Restoring again over the restored tables is refused, and changes nothing.
    let again = backup(&["restore", file, &restored_url]);
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    let usage = backup(&["restore", file]);
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(row_counts(&restored_url).await, source_counts);
    assert_eq!(migrations(&restored_url).await, source_migrations);

    // The real binary, as production runs it, on the restored database.
    let address = format!("127.0.0.1:{}", free_port());
    let server = Server(
        Command::new(SERVER)
            .env_clear()
            .envs([
                ("DATABASE_URL", restored_url.as_str()),
                ("LEPTOS_SITE_ADDR", &address),
                ("APP_ENV", "production"),
                ("SECRET_KEY", "a-production-secret-of-thirty-two-chars"),
                ("SMTP_URL", "smtp://127.0.0.1:1"),
                ("APP_BASE_URL", "https://accounts.example.com"),
                ("RUST_LOG", "warn"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary"),
    );
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server on the restored database never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The person signs in with their password and sees their profile and order.
    let response = client
        .post(format!("{base}/api/token"))
        .json(&json!({"email": person.email, "password": person.password}))
        .send()
        .await
        .expect("POST /api/token");
    assert_eq!(response.status(), 200);
    let restored_token = response.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let response = client
        .get(format!("{base}/api/profile"))
        .bearer_auth(&restored_token)
        .send()
        .await
        .expect("GET /api/profile");
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.expect("JSON");
    assert_eq!(profile["email"], json!(person.email), "{profile}");
    let response = client
        .get(format!("{base}/api/products?keyword=tea"))
        .send()
        .await
        .expect("GET /api/products");
    assert_eq!(response.status(), 200);
    let products: Value = response.json().await.expect("JSON");
    assert_eq!(products["items"][0]["stock"], json!(7), "{products}");

    // Start-up applied nothing: the record is the source's, row for row.
    assert_eq!(migrations(&restored_url).await, source_migrations);
    drop(server);
    drop_database(&restored_name).await;
}
