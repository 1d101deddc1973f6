//! The language of each page: chosen once per request, before the page renders, and the
//! switcher's choice remembered.

use app::{
    infra::sessions::{self, CrossSite},
    language::{self, Locale},
    session::safe_next,
    state::AppState,
};
use axum::{
    extract::{Query, Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

/// Chooses the language of a request (`language::choose`) and hands it to the page or server
/// function through the request's extensions (`language::page_language`): a page gets, in
/// order, the switcher's cookie, the signed-in person's stored language, `Accept-Language`,
/// English; an API call the same without the stored language (no lookup on the API's hot path:
/// the browser carries the stored language in the cookie, set when the person picks one or
/// signs in). The stored language costs a session lookup only when a page request brings a
/// session cookie without the language cookie. Files and probes pass untouched.
pub async fn choose(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if ["/pkg/", "/texts/", "/healthz", "/readyz", "/language"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return next.run(request).await;
    }
    let is_page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !["/api/", "/docs"]
            .iter()
            .any(|prefix| path.starts_with(prefix));
    let headers = request.headers();
    let cookie = language::cookie_value(headers).map(str::to_owned);
    let stored = match cookie.as_deref().and_then(language::supported) {
        None if is_page => stored_language(&state, headers).await,
        _ => None,
    };
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let locale = language::choose(cookie.as_deref(), stored, accept);
    request.extensions_mut().insert(locale);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale.code()),
    );
    headers.append(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

/// The signed-in person's stored language; `None` without a live session (or when the lookup
/// fails: the page then follows the browser, and the failure is the session lookup's to report).
async fn stored_language(state: &AppState, headers: &http::HeaderMap) -> Option<Locale> {
    let presented = sessions::presented(&state.settings, headers, CrossSite::NavigationOnly)
        .ok()
        .flatten()?;
    sessions::authenticate(&state.pool, &state.settings.sessions, &presented)
        .await
        .ok()
        .flatten()
        .and_then(|caller| caller.language)
}

#[derive(serde::Deserialize)]
pub struct Switch {
    set: String,
    back: Option<String>,
}

/// `GET /language?set=fr&back=/products`: the switcher's links. Remembers the language in a
/// cookie for a year and goes back to the page (a path of this site only). Works without
/// JavaScript; an unknown code changes nothing.
pub async fn switch(State(state): State<AppState>, Query(switch): Query<Switch>) -> Response {
    // Back to a path of this site only (`session::safe_next`'s rule), the home page otherwise.
    // (No control characters either: a line break would make no valid `Location`.)
    let back = switch
        .back
        .filter(|back| safe_next(Some(back.clone())) == *back)
        .filter(|back| !back.chars().any(char::is_control))
        .unwrap_or_else(|| "/".to_string());
    let Some(locale) = language::supported(&switch.set) else {
        return Redirect::to(&back).into_response();
    };
    let cookie = language::cookie(Some(locale), state.settings.http.secure_cookies());
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `GET /texts/<code>.<hash>.json`: a language's texts for the browser (`language::texts_file`),
/// fetched by the page script beside the WASM. The name changes with the content, so it is kept
/// a year; brotli-compressed once (quality 11, like the `/pkg` files), for the clients that take
/// it; others get it through the compression layer.
pub async fn texts(
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: http::HeaderMap,
) -> Response {
    let Some(json) = language::texts_for_path(&file) else {
        return http::StatusCode::NOT_FOUND.into_response();
    };
    let headers_of = |encoding: Option<&'static str>| {
        let mut list = vec![
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::VARY, "Accept-Encoding"),
        ];
        list.extend(encoding.map(|e| (header::CONTENT_ENCODING, e)));
        list
    };
    let takes_brotli = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "br"));
    if let Some(compressed) = takes_brotli.then(|| brotli_of(&file, json)).flatten() {
        let mut response = compressed.into_response();
        for (name, value) in headers_of(Some("br")) {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        return response;
    }
    let mut response = json.into_response();
    for (name, value) in headers_of(None) {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Each language's file, compressed once for the life of the process.
fn brotli_of(file: &str, json: &'static str) -> Option<axum::body::Bytes> {
    use std::{collections::HashMap, sync::Mutex};
    static DONE: Mutex<Option<HashMap<String, Option<axum::body::Bytes>>>> = Mutex::new(None);
    let mut done = DONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    done.get_or_insert_with(HashMap::new)
        .entry(file.to_string())
        .or_insert_with(|| {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                ..Default::default()
            };
            let mut input = json.as_bytes();
            brotli::BrotliCompress(&mut input, &mut out, &params)
                .ok()
                .map(|_| axum::body::Bytes::from(out))
        })
        .clone()
}
