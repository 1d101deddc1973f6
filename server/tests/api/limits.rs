use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{error_code, spawn_app};

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
