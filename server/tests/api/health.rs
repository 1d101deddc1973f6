use std::time::Duration;

use serde_json::Value;
use server::startup::Application;
use sqlx::postgres::PgPoolOptions;

use crate::helpers::{spawn_app, test_settings};

#[tokio::test]
async fn healthz_answers_200() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_answers_200_when_postgres_answers() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["database"], "ok");
}

#[tokio::test]
async fn readyz_answers_503_naming_the_database_when_postgres_is_unreachable() {
    // Nothing listens on port 1; the pool connects lazily, so the app starts and then finds out.
    let url = "postgres://accounts:x@127.0.0.1:1/accounts";
    let settings = test_settings(url, &[]);
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy(url)
        .expect("a lazy pool");
    let app = Application::build_with_pool(settings, pool)
        .await
        .expect("build");
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::new();
    let response = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["failed"], serde_json::json!(["database"]));
    assert_eq!(body["checks"]["database"], "unavailable");

    // Liveness does not depend on the database.
    let response = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_answers_503_once_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let admin = crate::helpers::admin_database_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(
        &crate::helpers::with_database(&admin, "postgres"),
    )
    .await
    .expect("connect");
    sqlx::query(&format!(r#"drop database "{}" with (force)"#, app.db_name))
        .execute(&mut conn)
        .await
        .expect("drop the app's database");

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let response = app.get("/readyz/process").await;
    assert_eq!(
        response.status(),
        503,
        "without its database this process cannot serve"
    );
}

#[tokio::test]
async fn status_endpoint_reports_the_database() {
    let app = spawn_app().await;
    let response = app.get("/api/status").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["database_ok"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}
