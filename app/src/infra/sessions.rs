//! Sessions and API tokens: 32 random bytes handed to the client (a cookie for browsers, a
//! bearer token for programs), only their SHA-256 stored. A token is looked up with one indexed
//! query and no password hashing; revoking deletes the row, so it stops working at once.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue, header};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::second_factor::{HAS_SECOND_FACTOR, SECOND_FACTOR_COLUMNS};
use super::{
    client::ClientInfo,
    config::{SessionSettings, Settings},
};
use crate::t;
use crate::{
    error::{ApiError, Context as _, ErrorCode},
    model::{AccountStatus, Profile, Role, SessionKind},
};

/// Longer than any token we issue (43 characters): not worth hashing.
const MAX_TOKEN_CHARS: usize = 128;

/// A freshly issued session: the secret exists only here and in the client.
pub struct Issued {
    pub id: Uuid,
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
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

/// Who is calling, once their cookie or token checked out: what every signed-in service takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Caller {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub kind: SessionKind,
    pub status: AccountStatus,
    pub role: Role,
    /// The account has a second factor (an authenticator app or a passkey).
    pub second_factor: bool,
    /// The language the person picked (`None`: their browser's).
    pub language: Option<crate::language::Locale>,
}

impl Caller {
    /// The one role check: administrators' services take an [`Administrator`], and this is
    /// the only way to get one from a request. With `ADMIN_REQUIRE_SECOND_FACTOR`
    /// (`second_factor_required`), an administrator without a second factor is refused until
    /// they set one up on their account page.
    pub fn administrator(self, second_factor_required: bool) -> Result<Administrator, ApiError> {
        match self.role {
            Role::Admin if second_factor_required && !self.second_factor => Err(ApiError::new(
                ErrorCode::SecondFactorSetupRequired,
                t!(errors.admin_second_factor_required),
            )),
            Role::Admin => Ok(Administrator(self)),
            Role::User => Err(ApiError::forbidden(t!(errors.administrator_required))),
        }
    }
}

/// A [`Caller`] whose account has the administrator role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Administrator(Caller);

impl Administrator {
    pub fn caller(&self) -> &Caller {
        &self.0
    }

    pub fn user_id(&self) -> Uuid {
        self.0.user_id
    }
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub async fn issue(
    conn: &mut PgConnection,
    settings: &SessionSettings,
    user_id: Uuid,
    kind: SessionKind,
    client: &ClientInfo,
) -> Result<Issued, ApiError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let (id, expires_at): (Uuid, String) = sqlx::query_as(
        "insert into sessions (user_id, token_hash, kind, expires_at, ip, user_agent)
         values ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)
         returning id, rfc3339(expires_at)",
    )
    .bind(user_id)
    .bind(hash_token(&token))
    .bind(kind)
    .bind(settings.lifetime.as_secs_f64())
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .fetch_one(conn)
    .await
    .context("store a session")?;
    Ok(Issued {
        id,
        token,
        expires_at,
    })
}

/// The `Set-Cookie` value that hands a browser its session.
pub fn cookie(settings: &Settings, token: &str) -> HeaderValue {
    session_cookie(settings, token, settings.sessions.lifetime)
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clearing_cookie(settings: &Settings) -> HeaderValue {
    session_cookie(settings, "", Duration::ZERO)
}

fn session_cookie(settings: &Settings, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if settings.http.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        settings.sessions.cookie_name,
        max_age.as_secs()
    );
    HeaderValue::from_str(&cookie).expect("a cookie of base64url characters is a valid header")
}

/// The token a request carries, and how.
pub struct Presented {
    token: String,
    kind: SessionKind,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("token", &"[redacted]")
            .field("kind", &self.kind)
            .finish()
    }
}

/// The token in `headers`: a bearer token first (programs), else the session cookie.
fn presented_token(headers: &HeaderMap, cookie_name: &str) -> Option<Presented> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, token)) = value.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(Presented {
            token: token.trim().to_string(),
            kind: SessionKind::Bearer,
        });
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .map(|(_, value)| Presented {
            token: value.to_string(),
            kind: SessionKind::Cookie,
        })
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

/// What a cookie sent from another site is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossSite {
    /// API calls, which may change things: 403.
    Refuse,
    /// Reads for a page: honoured for a top-level navigation (a link followed from another
    /// site, which SameSite=Lax lets through and which changes nothing), otherwise read as no
    /// session at all (another site's script asking who is signed in).
    NavigationOnly,
}

/// A top-level navigation (`Sec-Fetch-Mode: navigate`), as opposed to a script's request.
fn is_navigation(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|mode| mode == "navigate")
}

/// The token `headers` present, once the cross-site rule let it through.
pub fn presented(
    settings: &Settings,
    headers: &HeaderMap,
    cross_site: CrossSite,
) -> Result<Option<Presented>, ApiError> {
    let Some(presented) = presented_token(headers, settings.sessions.cookie_name) else {
        return Ok(None);
    };
    if presented.token.is_empty() || presented.token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    if presented.kind == SessionKind::Cookie && is_cross_site(headers, &settings.http.app_origin())
    {
        return match cross_site {
            CrossSite::Refuse => Err(ApiError::new(
                ErrorCode::Forbidden,
                t!(errors.cross_site_refused),
            )),
            CrossSite::NavigationOnly if is_navigation(headers) => Ok(Some(presented)),
            CrossSite::NavigationOnly => Ok(None),
        };
    }
    Ok(Some(presented))
}

/// A live session with its account: what both lookups below read, in one statement.
#[derive(sqlx::FromRow)]
struct LiveSession {
    #[sqlx(flatten)]
    caller: Caller,
    #[sqlx(flatten)]
    profile: Profile,
}

/// Finds the live session behind a token's hash and kind (idle for less than the idle
/// timeout) with its account, and touches it when it was last seen more than a minute ago: a
/// lookup writes at most once a minute per session. One indexed query, no hashing: the hot
/// path of every signed-in request.
async fn live_session(
    pool: &PgPool,
    settings: &SessionSettings,
    presented: &Presented,
) -> Result<Option<LiveSession>, ApiError> {
    sqlx::query_as(lookup_statement())
        .bind(hash_token(&presented.token))
        .bind(presented.kind)
        .bind(settings.idle_timeout.as_secs_f64())
        .fetch_optional(pool)
        .await
        .context("look up a session")
}

/// The one statement behind every signed-in request: the live session of a token hash (`$1`)
/// of a kind (`$2`) idle for less than `$3` seconds, with its account, touching the session at
/// most once a minute. `server statements` prints it for `EXPLAIN` and the bench's `pgbench`.
pub fn lookup_statement() -> &'static str {
    static LOOKUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "with s as (
             select id, user_id, kind, last_seen_at from sessions
             where token_hash = $1 and kind = $2 and expires_at > now()
               and last_seen_at > now() - make_interval(secs => $3)
         ),
         touched as (
             update sessions set last_seen_at = now()
             from s
             where sessions.id = s.id and s.last_seen_at < now() - interval '1 minute'
         )
         select s.id as session_id, s.user_id, s.kind, u.status, u.role,
                {HAS_SECOND_FACTOR} as second_factor, u.language,
                u.id, u.first_name, u.last_name, u.email, u.phone_number,
                u.phone_number as phone_display,
                rfc3339(u.email_verified_at) as email_verified_at,
                rfc3339(u.created_at) as created_at,
                {SECOND_FACTOR_COLUMNS}
         from s join users u on u.id = s.user_id and u.status <> 'disabled'"
        )
    });
    &LOOKUP
}

/// The caller behind a presented token, if its session is live.
pub async fn authenticate(
    pool: &PgPool,
    settings: &SessionSettings,
    presented: &Presented,
) -> Result<Option<Caller>, ApiError> {
    Ok(live_session(pool, settings, presented)
        .await?
        .map(|live| live.caller))
}

/// The profile behind a presented token, from the same one query.
pub async fn profile(
    pool: &PgPool,
    settings: &SessionSettings,
    presented: &Presented,
) -> Result<Option<Profile>, ApiError> {
    Ok(live_session(pool, settings, presented)
        .await?
        .map(|live| live.profile))
}

/// Ends one session (sign-out); `false` when it was already gone.
pub async fn end(conn: &mut PgConnection, session_id: Uuid) -> Result<bool, ApiError> {
    let removed = sqlx::query("delete from sessions where id = $1")
        .bind(session_id)
        .execute(conn)
        .await
        .context("end a session")?
        .rows_affected();
    Ok(removed > 0)
}

/// Ends every session of `user_id` but `keep` (after a password change, a reset, a disable).
pub async fn end_all(
    conn: &mut PgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, ApiError> {
    let removed = sqlx::query("delete from sessions where user_id = $1 and id is distinct from $2")
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await
        .context("end the account's sessions")?
        .rows_affected();
    Ok(removed)
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

    fn token_of(h: &HeaderMap, cookie: &str) -> Option<(String, SessionKind)> {
        presented_token(h, cookie).map(|p| (p.token, p.kind))
    }

    #[test]
    fn bearer_wins_over_the_cookie() {
        let h = headers(&[("authorization", "Bearer abc"), ("cookie", "session=xyz")]);
        assert_eq!(
            token_of(&h, "session"),
            Some(("abc".into(), SessionKind::Bearer))
        );
        let h = headers(&[("cookie", "theme=dark; session=xyz")]);
        assert_eq!(
            token_of(&h, "session"),
            Some(("xyz".into(), SessionKind::Cookie))
        );
        assert_eq!(token_of(&h, "__Host-session"), None);
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
    fn pages_honour_cross_site_cookies_only_for_navigations() {
        let settings = crate::infra::config::Settings::from_vars(Vec::new()).expect("defaults");
        let link = headers(&[
            ("cookie", "session=abc"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate"),
        ]);
        let script = headers(&[
            ("cookie", "session=abc"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "cors"),
        ]);
        let found = |h: &HeaderMap, rule| presented(&settings, h, rule).map(|p| p.is_some());
        assert_eq!(found(&link, CrossSite::NavigationOnly), Ok(true));
        assert_eq!(found(&script, CrossSite::NavigationOnly), Ok(false));
        assert!(found(&link, CrossSite::Refuse).is_err());
    }

    #[test]
    fn tokens_are_stored_as_sha256() {
        assert_eq!(hash_token("abc").len(), 32);
        assert_ne!(hash_token("abc"), hash_token("abd"));
    }
}
