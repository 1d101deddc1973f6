use std::time::Duration;

use axum::{Router, routing::get};
use reqwest::header;
use serde_json::Value;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn home_page_is_rendered_on_the_server() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("Your account, done properly."), "{html}");
    assert!(html.contains(r#"href="/register""#));
    assert!(html.contains(r#"href="/login""#));
}

#[tokio::test]
async fn pages_allow_only_scripts_carrying_this_responses_nonce() {
    let app = spawn_app().await;
    let nonces: Vec<String> = {
        let mut nonces = Vec::new();
        for _ in 0..2 {
            let response = app.get("/").await;
            let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii")
                .to_owned();
            let nonce = policy
                .split("'nonce-")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .unwrap_or_else(|| panic!("a nonce in {policy}"))
                .to_owned();
            assert!(
                policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"),
                "{policy}"
            );
            let html = response.text().await.expect("body");
            assert!(
                html.contains(&format!(r#"nonce="{nonce}""#)),
                "the hydration scripts carry it"
            );
            nonces.push(nonce);
        }
        nonces
    };
    assert_ne!(nonces[0], nonces[1], "a fresh nonce for every response");
}

#[tokio::test]
async fn unknown_paths_get_a_404_page_that_links_home() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains(r#"href="/""#));
}

#[tokio::test]
async fn a_product_or_order_that_does_not_exist_is_a_404_page() {
    let app = spawn_app().await;
    let response = app
        .get(&format!("/products/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("body");
    assert!(html.contains("Product not found"), "{html}");
    let response = app.get("/products/not-an-id").await;
    assert_eq!(response.status(), 404);
    let response = app.get("/products").await;
    assert_eq!(response.status(), 200);

    let person = app.activated_person().await;
    let response = app.login(&person.email, &person.password).await;
    assert_eq!(response.status(), 200);
    let response = app.get(&format!("/orders/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("body");
    assert!(html.contains("Order not found"), "{html}");
}

#[tokio::test]
async fn unknown_api_paths_get_a_typed_json_404() {
    let app = spawn_app().await;
    let response = app.get("/api/nope").await;
    assert_eq!(error_code(response, 404).await, "not_found");
    let response = app
        .post_json("/api/nope/deeper", &serde_json::json!({}))
        .await;
    assert_eq!(error_code(response, 404).await, "not_found");
}

#[tokio::test]
async fn wrong_method_on_an_endpoint_gets_a_typed_405() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("/api/status"))
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(response, 405).await, "method_not_allowed");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    let id = response.headers()["x-request-id"].to_str().expect("ascii");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");

    // A caller's own id is kept, so logs can be joined across services.
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn pages_are_compressed_for_clients_that_accept_it() {
    let app = spawn_app().await;
    // reqwest is built without decompression here, so the header is what the server sent.
    let response = app
        .client
        .get(app.url("/"))
        .header(header::ACCEPT_ENCODING, "br")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
}

/// Serves `router` inside the app's middleware stack on a free port.
async fn serve_with_middleware(router: Router) -> String {
    serve_with_time_limit(router, Duration::from_secs(15)).await
}

/// [`serve_with_middleware`] with its own request time limit.
async fn serve_with_time_limit(router: Router, limit: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let app = server::startup::with_middleware(router, limit);
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test]
async fn a_panic_becomes_a_500_page_that_reveals_nothing() {
    async fn boom() -> &'static str {
        panic!("secret internal detail")
    }
    let address = serve_with_middleware(
        Router::new()
            .route("/boom", get(boom))
            .route("/api/boom", get(boom)),
    )
    .await;
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{address}/boom"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 500);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let html = response.text().await.expect("body");
    assert!(html.contains("Something went wrong"), "{html}");
    assert!(
        html.contains(&request_id),
        "the page gives the request id as a reference"
    );
    assert!(!html.contains("secret internal detail"));
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{html}"
    );

    // In the reader's language, like every page.
    let response = client
        .get(format!("{address}/boom"))
        .header("accept-language", "de-DE, de;q=0.9")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 500);
    let html = response.text().await.expect("body");
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"de\">"),
        "{html}"
    );
    assert!(
        html.contains("<title>Etwas ist schiefgelaufen · Accounts</title>"),
        "{html}"
    );
    assert!(!html.contains("Something went wrong"), "{html}");

    let response = client
        .get(format!("{address}/api/boom"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "internal");
    assert!(!body.to_string().contains("secret internal detail"));
}

#[tokio::test]
async fn server_function_errors_get_the_status_their_code_calls_for() {
    // What a server function sends for an error: always 500, the `serverfnerror` header, and the
    // error as JSON. The middleware must turn the code into the status and `Retry-After`.
    async fn throttled() -> axum::response::Response {
        axum::response::Response::builder()
            .status(500)
            .header("serverfnerror", "/api/throttled")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                r#"{"error":"too_many_requests","message":"Slow down.","retry_after":30}"#,
            ))
            .expect("a response")
    }
    async fn garbled() -> axum::response::Response {
        axum::response::Response::builder()
            .status(500)
            .header("serverfnerror", "/api/garbled")
            .body(axum::body::Body::from("not json"))
            .expect("a response")
    }
    let address = serve_with_middleware(
        Router::new()
            .route("/api/throttled", get(throttled))
            .route("/api/garbled", get(garbled)),
    )
    .await;
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{address}/api/throttled"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()[header::RETRY_AFTER], "30");
    assert_eq!(error_code(response, 429).await, "too_many_requests");

    let response = client
        .get(format!("{address}/api/garbled"))
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(response, 500).await, "internal");
}

#[tokio::test]
async fn a_page_or_api_call_past_the_time_limit_gets_a_503_with_retry_after() {
    // A handler that never answers: any answer at all is the time limit's, so the 503 itself
    // shows the limit fired, whatever the machine's speed.
    async fn slow() -> &'static str {
        std::future::pending::<()>().await;
        "never"
    }
    let address = serve_with_time_limit(
        Router::new()
            .route("/slow", get(slow))
            .route("/api/slow", get(slow)),
        Duration::from_secs(1),
    )
    .await;
    // Only stops a hang (a limit that never fires), far above the 1 s limit.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client");

    let response = client
        .get(format!("{address}/slow"))
        .send()
        .await
        .expect("an answer from the time limit, not a hang");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("The server is busy"), "{html}");

    let response = client
        .get(format!("{address}/api/slow"))
        .send()
        .await
        .expect("an answer from the time limit, not a hang");
    assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    assert_eq!(error_code(response, 503).await, "unavailable");
}
