//! The HTTP stack's own rules: body size, time, panics, and how API errors reach the wire.

use std::{panic::AssertUnwindSafe, time::Duration};

use app::{
    error::{ApiError, ErrorCode},
    language::{self, Locale, k, text_in},
};
use axum::{
    Json,
    body::{Body, Bytes},
    extract::Request,
    extract::State,
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use futures_util::FutureExt;
use http_body_util::{BodyExt, Limited};
use tokio::sync::Semaphore;
use tower_http::request_id::RequestId;

/// The largest request body the product accepts. Its biggest legitimate request is a
/// registration of a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A body refused for its declared size is read and thrown away up to this much, for at most
/// [`DRAIN_TIME`], before the 413 goes out: a client still sending would otherwise have its
/// connection reset under it (closing a socket with unread data sends a TCP reset) and never
/// read the answer. Anything bigger is cut off at once.
const DRAIN_MAX_BYTES: u64 = 2 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// How many refused bodies are read and dropped at once; the others wait for a turn, within
/// the same [`DRAIN_TIME`], and one that gets none in time is cut off like a body over
/// [`DRAIN_MAX_BYTES`].
///
/// Why: what draining costs is copying bytes, so a few at a time drain a burst about as fast
/// as all at once. All at once (the flood sends 200 bodies of 1 MiB) every draining connection
/// is a task with data ready, and each other request (a probe, a page) queued behind all of
/// them on the async threads; waiting for a turn, a connection is not polled and costs nothing.
/// A legitimate client sending an oversized body waits only while a burst of them is drained.
const DRAINS_AT_ONCE: usize = 4;
static DRAINS: Semaphore = Semaphore::const_new(DRAINS_AT_ONCE);

/// The header server functions put on their error responses.
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// An API error as a response: the status its code calls for, a JSON body and, for "try again
/// later" errors, `Retry-After`.
pub fn error_response(error: &ApiError) -> Response {
    let mut response = (error.status(), Json(error)).into_response();
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The language a request is answered in: the one `language::choose` (server/src/language.rs)
/// put on it, or, in the layers outside that one, the same choice an API call gets there (the
/// language cookie, then `Accept-Language`, then English; no lookup of a stored language).
fn language_of(extensions: &Extensions, headers: &HeaderMap) -> Locale {
    extensions.get::<Locale>().copied().unwrap_or_else(|| {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        language::choose(language::cookie_value(headers), None, accept)
    })
}

/// Refuses bodies over [`MAX_BODY_BYTES`] with 413 before any handler sees them: at once when
/// `Content-Length` says so, otherwise while reading, so a chunked body cannot sneak past.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let too_large = |locale: Locale| {
        error_response(&ApiError::new(
            ErrorCode::PayloadTooLarge,
            language::fill(
                text_in(locale, k::errors::body_too_large),
                &[("kib", &(MAX_BODY_BYTES / 1024))],
            ),
        ))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY_BYTES as u64 => {
            let locale = language_of(request.extensions(), request.headers());
            if length <= DRAIN_MAX_BYTES {
                drain(request.into_body()).await;
            }
            let mut response = too_large(locale);
            // The connection is not reused: the rest of the body (if any) is never read.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        Some(_) => next.run(request).await,
        None => {
            let (parts, body) = request.into_parts();
            match Limited::new(body, MAX_BODY_BYTES).collect().await {
                Ok(collected) => {
                    let bytes: Bytes = collected.to_bytes();
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    too_large(language_of(&parts.extensions, &parts.headers))
                }
                Err(_) => error_response(&ApiError::new(
                    ErrorCode::Invalid,
                    text_in(
                        language_of(&parts.extensions, &parts.headers),
                        k::errors::body_unreadable,
                    ),
                )),
            }
        }
    }
}

/// Reads and discards `body`, at most [`DRAIN_MAX_BYTES`] of it for at most [`DRAIN_TIME`]
/// (its wait for a turn included, see [`DRAINS_AT_ONCE`]); one chunk at a time, so it costs no
/// memory.
async fn drain(body: Body) {
    let mut body = body;
    let mut read: u64 = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        // Never closed, so there is always a turn to wait for.
        let Ok(_turn) = DRAINS.acquire().await else {
            return;
        };
        while let Some(Ok(frame)) = body.frame().await {
            read += frame.data_ref().map_or(0, |data| data.len() as u64);
            if read > DRAIN_MAX_BYTES {
                break;
            }
        }
    })
    .await;
}

/// What a client that ran into the time limit is asked to wait before trying again.
const TIMED_OUT_RETRY_AFTER_SECS: u64 = 5;

/// Answers 503 `unavailable` (with `Retry-After`) when the request, body included, has not been
/// answered within `limit` (`REQUEST_TIMEOUT_SECS`): JSON under `/api`, a short page elsewhere,
/// in the request's language. The handler is dropped where it waits, so its open transaction
/// rolls back.
pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let locale = language_of(request.extensions(), request.headers());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                http.timeout_secs = limit.as_secs(),
                "request not answered within the time limit; answered 503"
            );
            let mut response = if is_api {
                error_response(&ApiError::new(
                    ErrorCode::Unavailable,
                    text_in(locale, k::errors::timed_out),
                ))
            } else {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Html(timed_out_page(locale)),
                )
                    .into_response()
            };
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(TIMED_OUT_RETRY_AFTER_SECS),
            );
            response
        }
    }
}

/// The page a timed-out page request gets: nothing to render it with but the stylesheet.
fn timed_out_page(locale: Locale) -> String {
    let stylesheet = &app::infra::assets::Assets::get().stylesheet;
    let lang = locale.code();
    let text = |key| text_in(locale, key);
    let (title, heading, body, home) = (
        text(k::errors::busy_title),
        text(k::errors::busy_heading),
        text(k::errors::busy_text),
        text(k::errors::busy_home_link),
    );
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body><main id=\"main\" class=\"container main\"><section class=\"message-page\">\
         <p class=\"message-code\" aria-hidden=\"true\">503</p><h1>{heading}</h1>\
         <p>{body}</p>\
         <a class=\"button\" href=\"/\">{home}</a></section></main></body></html>"
    )
}

/// Gives server-function errors the status their code calls for (server functions themselves
/// answer 500 for every error) and turns bare framework rejections under `/api` into typed JSON,
/// in the language the response says it is in (`Content-Language`, set by `language::choose`).
pub async fn api_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let locale = response
        .headers()
        .get(header::CONTENT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_code)
        .unwrap_or_default();
    if response.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        let (mut parts, body) = response.into_parts();
        // Error bodies are a few hundred bytes; anything bigger is not one of ours.
        let bytes = match Limited::new(body, 16 * 1024).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return error_response(
                    &ApiError::internal("unreadable server function error body")
                        .with_message(text_in(locale, k::errors::internal)),
                );
            }
        };
        return match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(error) => {
                let mut response = error_response(&error);
                response
                    .headers_mut()
                    .extend(parts.headers.drain().filter_map(|(name, value)| {
                        name.filter(|n| n != header::CONTENT_TYPE && n != header::CONTENT_LENGTH)
                            .map(|n| (n, value))
                    }));
                response
            }
            Err(e) => error_response(
                &ApiError::internal(format!("undecodable server function error: {e}"))
                    .with_message(text_in(locale, k::errors::internal)),
            ),
        };
    }
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let mut typed = error_response(&ApiError::new(
            ErrorCode::MethodNotAllowed,
            text_in(locale, k::errors::method_not_allowed),
        ));
        if let Some(allow) = response.headers().get(header::ALLOW) {
            typed.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return typed;
    }
    response
}

/// `/api/…` paths that name no endpoint.
pub async fn api_not_found(request: Request) -> Response {
    let locale = language_of(request.extensions(), request.headers());
    error_response(&ApiError::new(
        ErrorCode::NotFound,
        text_in(locale, k::errors::no_endpoint),
    ))
}

/// Turns a panic in a handler into a 500 that names no internal detail: JSON under `/api` (in
/// the request's language), the error page elsewhere. The panic itself is logged by the hook
/// `telemetry::init` installs.
pub async fn catch_panics(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let locale = language_of(request.extensions(), request.headers());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            if is_api {
                error_response(&ApiError::new(
                    ErrorCode::Internal,
                    text_in(locale, k::errors::internal),
                ))
            } else {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html(app::pages::error::server_error_document(request_id, locale)),
                )
                    .into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use futures_util::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn refused_bodies_wait_for_a_turn_to_be_drained() {
        let held = DRAINS
            .acquire_many(DRAINS_AT_ONCE as u32)
            .await
            .expect("never closed");
        let chunks_read = Arc::new(AtomicUsize::new(0));
        let body = {
            let chunks_read = Arc::clone(&chunks_read);
            futures_util::stream::iter(0..16).map(move |_| {
                chunks_read.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(Bytes::from_static(&[0; 1024]))
            })
        };
        let drained = tokio::spawn(drain(Body::from_stream(body)));
        // While every turn is taken, nothing of it is read...
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(chunks_read.load(Ordering::SeqCst), 0);
        assert!(!drained.is_finished());
        // ...and once one is free, all of it is.
        drop(held);
        tokio::time::timeout(Duration::from_secs(10), drained)
            .await
            .expect("drained in time")
            .expect("joined");
        assert_eq!(chunks_read.load(Ordering::SeqCst), 16);
    }
}
