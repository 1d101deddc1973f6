use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use server::startup::Application;

use crate::helpers::{TestApp, body, error_code, spawn_app, spawn_app_with, test_settings};

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
async fn a_client_still_sending_a_refused_body_reads_the_413() {
    // The head declares 1 MiB; the body follows a moment later, as it does from a client on a
    // slow link. Answering and closing before reading it would reset the connection under the
    // client (a socket closed with unread data sends a TCP reset), losing the answer.
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let clients = (0..10).map(|_| {
        let host = host.clone();
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&host)
                .await
                .expect("connect");
            let length = 1024 * 1024;
            let head = format!(
                "POST /api/register HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
                 Content-Length: {length}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.expect("write head");
            tokio::time::sleep(Duration::from_millis(300)).await;
            let body = vec![b'x'; length];
            let wrote = stream.write_all(&body).await;
            let mut answer = Vec::new();
            let read = stream.read_to_end(&mut answer).await;
            (
                wrote.map_err(|e| e.kind()),
                read.map_err(|e| e.kind()),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        })
    });
    for client in clients {
        let (wrote, read, answer) = client.await.expect("joined");
        assert!(wrote.is_ok(), "the body could not be sent: {wrote:?}");
        assert!(read.is_ok(), "the connection was reset: {read:?}");
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
}

#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figure for the notes (--nocapture)"
)]
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

#[tokio::test]
#[expect(
    clippy::print_stdout,
    reason = "the figures for the notes (--nocapture)"
)]
async fn a_client_sending_its_headers_a_byte_a_second_is_cut_off_while_others_are_served() {
    // Longer than the default (10 s): a client cut off no earlier than this shows the setting
    // is what applies, with no upper bound that a slow machine could miss.
    let app = spawn_app_with(&[("HEADER_READ_TIMEOUT_SECS", "15")]).await;
    let limit = Duration::from_secs(15);
    // Only stops a hang: a server that never cuts the slow clients off keeps them for ever.
    const HANG_GUARD: Duration = Duration::from_secs(120);
    let host = app.address.trim_start_matches("http://").to_owned();

    // Taken before connecting: the server's clock for a connection starts once it accepts it,
    // later than this, so neither client can be cut off before `limit` has passed since.
    let started = Instant::now();
    let slow = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let silent = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        let head = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Slow: ");
        for byte in head.bytes().chain(std::iter::repeat(b'a')) {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let cut = tokio::spawn(async move {
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer).await;
        (started.elapsed(), answer)
    });
    let hushed = tokio::spawn(async move {
        let mut silent = silent;
        let mut answer = Vec::new();
        let _ = silent.read_to_end(&mut answer).await;
        started.elapsed()
    });

    // Health checks go on while the slow clients hold their connections. One counts as served
    // meanwhile when, once it is answered, neither slow client has been cut off yet: what the
    // test sees happen, not how many checks a machine fits into the timeout.
    let mut served_meanwhile = 0;
    while !(cut.is_finished() && hushed.is_finished()) {
        assert!(
            started.elapsed() < HANG_GUARD,
            "a slow client still connected {HANG_GUARD:?} in, with a header read timeout of {limit:?}"
        );
        assert_eq!(app.get("/healthz").await.status(), 200);
        if !cut.is_finished() && !hushed.is_finished() {
            served_meanwhile += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (slow_cut_after, answer) = cut.await.expect("task");
    let silent_cut_after = hushed.await.expect("task");
    trickle.abort();
    for after in [slow_cut_after, silent_cut_after] {
        assert!(after >= limit, "not before the timeout: {after:?}");
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains("200 OK"),
        "the slow request was never served: {answer}"
    );
    assert!(
        served_meanwhile >= 1,
        "no health check was answered while the slow clients were connected"
    );
    println!(
        "slow-header client cut after {slow_cut_after:?}, silent one after \
         {silent_cut_after:?} (limit {limit:?}); {served_meanwhile} health checks meanwhile"
    );

    // HTTP/2 with prior knowledge is still spoken: the preface and an empty SETTINGS frame
    // get the server's SETTINGS frame back.
    let mut h2 = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect");
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .expect("write the preface");
    let mut frame_head = [0u8; 9];
    tokio::time::timeout(HANG_GUARD, h2.read_exact(&mut frame_head))
        .await
        .expect("an answer, not a hang")
        .expect("a frame");
    assert_eq!(frame_head[3], 0x4, "a SETTINGS frame: {frame_head:?}");
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
