use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use server::startup::Application;

use crate::helpers::{TestApp, body, error_code, spawn_app, test_settings};

#[tokio::test]
async fn a_100_kib_body_is_refused_with_413() {
    let app = spawn_app().await;
    let body = format!(r#"{{"padding": "{}"}}"#, "x".repeat(100 * 1024));
    for path in ["/api/status", "/api/anything", "/"] {
        let response = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(
            error_code(response, 413).await,
            "payload_too_large",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_body_under_the_limit_is_not_refused() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/anything"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"padding": "{}"}}"#, "x".repeat(60 * 1024)))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        404,
        "reaches routing, which knows no such endpoint"
    );
}

/// Writes a raw HTTP/1.1 request with a chunked body (no Content-Length) and returns the
/// status line of the answer.
async fn send_chunked(address: &str, path: &str, body_len: usize) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let chunk = vec![b'x'; 8 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = chunk.len().min(body_len - sent);
        let frame = [format!("{n:x}\r\n").as_bytes(), &chunk[..n], b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += n;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_with_413() {
    let app = spawn_app().await;
    let status_line = send_chunked(&app.address, "/api/anything", 100 * 1024).await;
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");

    let status_line = send_chunked(&app.address, "/api/anything", 10 * 1024).await;
    assert!(status_line.starts_with("HTTP/1.1 404"), "{status_line}");
}

#[tokio::test]
#[expect(clippy::print_stdout, reason = "the figure for the notes (--nocapture)")]
async fn a_request_held_past_the_time_limit_gets_a_json_503_while_others_are_served() {
    // Signing up hashes passwords, which can take over a second here: the account is made on
    // a replica with the default limit, and the held call goes to one with a 1 s limit.
    let app = spawn_app().await;
    let person = app.activated_person().await;
    let token = app.token(&person).await;
    let user_id = app.user_id(&person.email).await;
    let strict = replica(&app, &[("REQUEST_TIMEOUT_SECS", "1")]).await;

    // Another transaction holds the account's row: the profile update waits for it.
    let mut lock = app.pool.begin().await.expect("begin");
    sqlx::query("select 1 from users where id = $1 for update")
        .bind(user_id)
        .execute(&mut *lock)
        .await
        .expect("lock the row");
    let started = Instant::now();
    let held = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{strict}/api/update-profile"))
            .bearer_auth(&token)
            .json(&json!({"first_name": "Grace"}))
            .send(),
    );
    let mut served_meanwhile = 0;
    while !held.is_finished() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no answer 30 s into a 1 s limit"
        );
        let health = reqwest::get(format!("{strict}/healthz")).await;
        assert_eq!(health.expect("healthz").status(), 200);
        served_meanwhile += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = held.await.expect("task").expect("an answer");
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "answered after {took:?}");
    assert!(
        served_meanwhile >= 1,
        "health checks answered while it waited"
    );
    assert_eq!(response.headers()["retry-after"], "5");
    let answer = body(response_with_status(response, 503).await).await;
    assert_eq!(answer["error"], "unavailable", "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    println!("held update answered 503 after {took:?}; {served_meanwhile} health checks meanwhile");

    // The timed-out update was rolled back; once the row is free the same call goes through.
    lock.rollback().await.expect("rollback");
    let response = app
        .bearer(Method::POST, "/api/update-profile", &token)
        .json(&json!({"last_name": "Hopper"}))
        .send()
        .await
        .expect("request");
    let profile = body(response_with_status(response, 200).await).await;
    assert_eq!(profile["first_name"], "Ada", "{profile}");
    assert_eq!(profile["last_name"], "Hopper", "{profile}");
}

/// Another server on `app`'s database (the same secret key, so its tokens work), with
/// `overrides`; returns its address.
async fn replica(app: &TestApp, overrides: &[(&str, &str)]) -> String {
    let smtp_url = app.mail.url();
    let mut vars = vec![("SMTP_URL", smtp_url.as_str())];
    vars.extend_from_slice(overrides);
    let replica = Application::build(test_settings(&app.database_url, &vars))
        .await
        .expect("build a replica");
    let address = format!("http://{}", replica.local_addr());
    tokio::spawn(replica.run_until(std::future::pending()));
    address
}

async fn response_with_status(response: reqwest::Response, status: u16) -> reqwest::Response {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    response
}
