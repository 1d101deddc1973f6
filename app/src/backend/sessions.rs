//! Sessions and API tokens: 32 random bytes handed to the client (a cookie for browsers, a
//! bearer token for programs), only their SHA-256 stored. A token is looked up with one indexed
//! query and no password hashing; revoking deletes the row, so it stops working at once.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, header};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{client::ClientInfo, config::AuthConfig, db};
use crate::{
    error::{ApiError, ErrorCode},
    state::AppState,
};

/// Sessions are touched at most this often, so reads stay reads.
const TOUCH_INTERVAL_SECS: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A browser session: the token travels in an HttpOnly cookie.
    Cookie,
    /// A program's token: `Authorization: Bearer`.
    Bearer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Bearer => "bearer",
        }
    }
}

/// A freshly issued session: the secret exists only here and in the client.
pub struct Issued {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Who a request is, once its cookie or token checked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub async fn issue(
    conn: &mut PgConnection,
    auth: &AuthConfig,
    user_id: Uuid,
    kind: Kind,
    client: &ClientInfo,
) -> Result<Issued, sqlx::Error> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let (id, expires_at): (Uuid, DateTime<Utc>) = sqlx::query_as(
        "insert into sessions (user_id, token_hash, kind, expires_at, ip, user_agent)
         values ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)
         returning id, expires_at",
    )
    .bind(user_id)
    .bind(hash_token(&token))
    .bind(kind.as_str())
    .bind(auth.session_lifetime.as_secs_f64())
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .fetch_one(conn)
    .await?;
    Ok(Issued {
        id,
        token,
        expires_at,
    })
}

/// The `Set-Cookie` value that hands a browser its session.
pub fn cookie(auth: &AuthConfig, token: &str) -> HeaderValue {
    session_cookie(auth, token, auth.session_lifetime)
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clearing_cookie(auth: &AuthConfig) -> HeaderValue {
    session_cookie(auth, "", Duration::ZERO)
}

fn session_cookie(auth: &AuthConfig, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if auth.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        auth.session_cookie_name(),
        max_age.as_secs()
    );
    HeaderValue::from_str(&cookie).expect("a cookie of base64url characters is a valid header")
}

/// The token a request carries: a bearer token first (programs), else the session cookie.
fn presented_token(headers: &HeaderMap, cookie_name: &str) -> Option<(String, Kind)> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, token)) = value.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some((token.trim().to_string(), Kind::Bearer));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .map(|(_, value)| (value.to_string(), Kind::Cookie))
}

/// A cookie sent by a page of another site (CSRF): `Sec-Fetch-Site` where the browser sends it,
/// otherwise `Origin` compared with the app's own.
pub fn is_cross_site(headers: &HeaderMap, app_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin != app_origin,
        None => false,
    }
}

/// The signed-in user of this request, or 401 `unauthenticated` (403 for a cross-site cookie).
pub async fn require(state: &AppState) -> Result<Authenticated, ApiError> {
    let headers = leptos_axum::extract::<HeaderMap>()
        .await
        .unwrap_or_default();
    authenticate(state, &headers, true)
        .await?
        .ok_or_else(ApiError::unauthenticated)
}

/// Finds a live session by its token's hash ($1, kind $2), idle for less than $3 seconds, and
/// touches it when it was last seen more than $4 seconds ago: a lookup writes at most once a
/// minute per session. Callers add their `select … from s`.
const LIVE_SESSION: &str = "with s as (
         select id, user_id, last_seen_at from sessions
         where token_hash = $1 and kind = $2 and expires_at > now()
           and last_seen_at > now() - make_interval(secs => $3)
     ),
     touched as (
         update sessions set last_seen_at = now()
         from s
         where sessions.id = s.id
           and s.last_seen_at < now() - make_interval(secs => $4)
     )";

/// The token a request presents, once the cross-site rule let it through. `api`: refuse
/// cookies sent from other sites (pages rendered for a top-level navigation may use them; they
/// change nothing).
fn presented(
    auth: &AuthConfig,
    headers: &HeaderMap,
    api: bool,
) -> Result<Option<(String, Kind)>, ApiError> {
    let Some((token, kind)) = presented_token(headers, auth.session_cookie_name()) else {
        return Ok(None);
    };
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    if api && kind == Kind::Cookie && is_cross_site(headers, &auth.app_origin) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Cross-site requests cannot use the session cookie.",
        ));
    }
    Ok(Some((token, kind)))
}

/// Runs `select` (which reads from `s`, the live session) for the session a request carries.
pub async fn lookup<T>(
    state: &AppState,
    headers: &HeaderMap,
    api: bool,
    select: &str,
) -> Result<Option<T>, ApiError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let auth = &state.auth;
    let Some((token, kind)) = presented(auth, headers, api)? else {
        return Ok(None);
    };
    sqlx::query_as(&format!("{LIVE_SESSION} {select}"))
        .bind(hash_token(&token))
        .bind(kind.as_str())
        .bind(auth.session_idle_timeout.as_secs_f64())
        .bind(TOUCH_INTERVAL_SECS)
        .fetch_optional(&state.pool)
        .await
        .map_err(db::internal)
}

/// Looks up the session a request carries (see [`lookup`]).
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    api: bool,
) -> Result<Option<Authenticated>, ApiError> {
    let found: Option<(Uuid, Uuid)> =
        lookup(state, headers, api, "select id, user_id from s").await?;
    Ok(found.map(|(session_id, user_id)| Authenticated {
        user_id,
        session_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn bearer_wins_over_the_cookie() {
        let h = headers(&[("authorization", "Bearer abc"), ("cookie", "session=xyz")]);
        assert_eq!(
            presented_token(&h, "session"),
            Some(("abc".into(), Kind::Bearer))
        );
        let h = headers(&[("cookie", "theme=dark; session=xyz")]);
        assert_eq!(
            presented_token(&h, "session"),
            Some(("xyz".into(), Kind::Cookie))
        );
        assert_eq!(presented_token(&h, "__Host-session"), None);
    }

    #[test]
    fn cross_site_cookies_are_recognised() {
        let origin = "http://127.0.0.1:3000";
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            origin
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            origin
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            origin
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            origin
        ));
        assert!(!is_cross_site(&headers(&[("origin", origin)]), origin));
        assert!(!is_cross_site(&headers(&[]), origin));
    }

    #[test]
    fn tokens_are_stored_as_sha256() {
        assert_eq!(hash_token("abc").len(), 32);
        assert_ne!(hash_token("abc"), hash_token("abd"));
    }
}
