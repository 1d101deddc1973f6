//! The rules behind the signed-in account endpoints (see `api::account`).

use chrono::{DateTime, SecondsFormat, Utc};
use leptos::prelude::*;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    client::{self, ClientInfo},
    credentials::FailureCounter,
    db,
    events::{self, EventKind},
    mail, rate_limit,
    sessions::{self, Authenticated, Kind},
};
use crate::{
    api::account::{Done, Profile, SecurityEvent, SessionInfo, SignedIn, TokenIssued},
    domain::{Password, PersonName, PhoneNumber},
    error::{ApiError, ErrorCode},
    state::AppState,
};

#[derive(sqlx::FromRow)]
struct ProfileWithId {
    id: Uuid,
    #[sqlx(flatten)]
    profile: ProfileRow,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    first_name: String,
    last_name: String,
    email: String,
    phone_number: String,
    email_verified_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    kind: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    user_agent: Option<String>,
    ip: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    kind: String,
    created_at: DateTime<Utc>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl ProfileRow {
    fn into_profile(self, user_id: Uuid) -> Profile {
        Profile {
            user_id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone_number: self.phone_number,
            email_verified_at: self.email_verified_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn too_many_attempts(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TooManyAttempts,
        format!("Too many sign-in attempts. Try again in {retry_after} seconds."),
    )
    .with_retry_after(retry_after)
}

/// Checks an email and password: rate limits first, then the hash (a dummy one for unknown
/// emails, so both failures look and take the same), then the account's state.
async fn check_credentials(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &str,
) -> Result<Uuid, ApiError> {
    let auth = &state.auth;
    let failures = FailureCounter::for_email(email);
    // The connection goes back to the pool before the hash: waiting for a hashing slot must
    // never hold one (a burst of sign-ins would starve everything else).
    let row = {
        let mut conn = state.pool.acquire().await.map_err(db::internal)?;
        if auth.login_per_ip_per_minute > 0
            && let Some(ip) = client.ip
            && let rate_limit::Decision::Limited { retry_after } = rate_limit::check(
                &mut conn,
                &format!("login:ip:{ip}"),
                auth.login_per_ip_per_minute,
                std::time::Duration::from_secs(60),
            )
            .await
            .map_err(db::internal)?
        {
            return Err(too_many_attempts(retry_after));
        }
        if let Some(retry_after) = failures
            .blocked_for(&mut conn, auth)
            .await
            .map_err(db::internal)?
        {
            return Err(too_many_attempts(retry_after));
        }

        let row: Option<(Uuid, String, String)> = sqlx::query_as(
            "select id, password_hash, status from users where lower(email) = lower($1)",
        )
        .bind(email.trim())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db::internal)?;
        row
    };
    let stored = row.as_ref().map(|(_, hash, _)| hash.as_str());
    let verified = state.hasher.verify(password, stored).await?;
    let mut conn = state.pool.acquire().await.map_err(db::internal)?;
    if !verified {
        failures
            .failed(&mut conn, auth)
            .await
            .map_err(db::internal)?;
        if let Some((user_id, _, _)) = &row {
            events::record(&mut conn, *user_id, EventKind::LoginFailed, client)
                .await
                .map_err(db::internal)?;
        }
        return Err(ApiError::invalid_credentials());
    }
    let Some((user_id, _, status)) = row else {
        return Err(ApiError::invalid_credentials());
    };
    if status != "active" {
        return Err(ApiError::new(
            ErrorCode::NotActivated,
            "This account is not activated yet. Enter the code we emailed you, or ask for a new one.",
        ));
    }
    failures.clear(&mut conn).await.map_err(db::internal)?;
    Ok(user_id)
}

async fn sign_in(
    email: String,
    password: String,
    kind: Kind,
) -> Result<(AppState, Uuid, sessions::Issued), ApiError> {
    let state = expect_context::<AppState>();
    let client = client::current(&state.auth.trusted_proxies).await;
    let user_id = check_credentials(&state, &client, &email, &password).await?;
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    let issued = sessions::issue(&mut tx, &state.auth, user_id, kind, &client)
        .await
        .map_err(db::internal)?;
    events::record(&mut tx, user_id, EventKind::LoginSucceeded, &client)
        .await
        .map_err(db::internal)?;
    tx.commit().await.map_err(db::internal)?;
    tracing::info!(user.id = %user_id, session.kind = kind.as_str(), "signed in");
    Ok((state, user_id, issued))
}

pub async fn login(email: String, password: String) -> Result<SignedIn, ApiError> {
    let (state, user_id, issued) = sign_in(email, password, Kind::Cookie).await?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(
            http::header::SET_COOKIE,
            sessions::cookie(&state.auth, &issued.token),
        );
    }
    let mut conn = state.pool.acquire().await.map_err(db::internal)?;
    Ok(SignedIn {
        user: load_profile(&mut conn, user_id).await?,
    })
}

pub async fn token(email: String, password: String) -> Result<TokenIssued, ApiError> {
    let (_, _, issued) = sign_in(email, password, Kind::Bearer).await?;
    Ok(TokenIssued {
        token: issued.token,
        expires_at: rfc3339(issued.expires_at),
    })
}

pub async fn logout() -> Result<Done, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    sqlx::query("delete from sessions where id = $1")
        .bind(who.session_id)
        .execute(&state.pool)
        .await
        .map_err(db::internal)?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(
            http::header::SET_COOKIE,
            sessions::clearing_cookie(&state.auth),
        );
    }
    tracing::info!(user.id = %who.user_id, "signed out");
    Ok(Done { ok: true })
}

pub(super) async fn load_profile(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Profile, ApiError> {
    let row: Option<ProfileRow> = sqlx::query_as(
        "select first_name, last_name, email, phone_number, email_verified_at, created_at
             from users where id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
    .map_err(db::internal)?;
    let Some(row) = row else {
        return Err(ApiError::unauthenticated());
    };
    Ok(row.into_profile(user_id))
}

/// One query: the session lookup and the profile together (this is the hot read path).
pub async fn profile() -> Result<Profile, ApiError> {
    profile_of_session(true)
        .await?
        .ok_or_else(ApiError::unauthenticated)
}

pub async fn current_user() -> Result<Option<Profile>, ApiError> {
    profile_of_session(false).await
}

async fn profile_of_session(api: bool) -> Result<Option<Profile>, ApiError> {
    // The header's resource also runs while the router lists its routes at start-up, outside
    // any request: nobody is signed in there.
    let Some(state) = use_context::<AppState>() else {
        return Ok(None);
    };
    let headers = leptos_axum::extract::<http::HeaderMap>()
        .await
        .unwrap_or_default();
    let row: Option<ProfileWithId> = sessions::lookup(
        &state,
        &headers,
        api,
        "select u.id, u.first_name, u.last_name, u.email, u.phone_number,
                u.email_verified_at, u.created_at
         from s join users u on u.id = s.user_id",
    )
    .await?;
    Ok(row.map(|row| row.profile.into_profile(row.id)))
}

pub async fn update_profile(
    changes: serde_json::Map<String, serde_json::Value>,
) -> Result<Profile, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match changes.get(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid(key, "Send this field as a string.")),
        }
    };
    if let Some(unknown) = changes
        .keys()
        .find(|k| !matches!(k.as_str(), "first_name" | "last_name" | "phone_number"))
    {
        return Err(ApiError::invalid(
            unknown.as_str(),
            format!("`{unknown}` cannot be changed here."),
        ));
    }
    let first_name = text("first_name")?
        .map(|v| PersonName::parse(&v).map_err(|e| ApiError::field("first_name", e)))
        .transpose()?;
    let last_name = text("last_name")?
        .map(|v| PersonName::parse(&v).map_err(|e| ApiError::field("last_name", e)))
        .transpose()?;
    let phone = text("phone_number")?
        .map(|v| {
            PhoneNumber::parse(&v, state.auth.default_region)
                .map_err(|e| ApiError::field("phone_number", e))
        })
        .transpose()?;

    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    sqlx::query(
        "update users set first_name = coalesce($2, first_name),
             last_name = coalesce($3, last_name),
             phone_number = coalesce($4, phone_number)
         where id = $1",
    )
    .bind(who.user_id)
    .bind(first_name.as_ref().map(PersonName::as_str))
    .bind(last_name.as_ref().map(PersonName::as_str))
    .bind(phone.as_ref().map(PhoneNumber::as_str))
    .execute(&mut *tx)
    .await
    .map_err(db::map_conflict)?;
    let profile = load_profile(&mut tx, who.user_id).await?;
    tx.commit().await.map_err(db::map_conflict)?;
    Ok(profile)
}

pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<Done, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let client = client::current(&state.auth.trusted_proxies).await;
    let new_password =
        Password::parse(&new_password).map_err(|e| ApiError::field("new_password", e))?;
    let (email, first_name, stored): (String, String, String) =
        sqlx::query_as("select email, first_name, password_hash from users where id = $1")
            .bind(who.user_id)
            .fetch_one(&state.pool)
            .await
            .map_err(db::internal)?;
    if !state
        .hasher
        .verify(&current_password, Some(&stored))
        .await?
    {
        return Err(ApiError::invalid_credentials()
            .with_message("The current password is wrong.")
            .with_field("current_password"));
    }
    let hash = state.hasher.hash(&new_password).await?;
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    sqlx::query("update users set password_hash = $2 where id = $1")
        .bind(who.user_id)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    // Whoever else knew the old password is out, everywhere, now.
    sqlx::query("delete from sessions where user_id = $1 and id <> $2")
        .bind(who.user_id)
        .bind(who.session_id)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    events::record(&mut tx, who.user_id, EventKind::PasswordChanged, &client)
        .await
        .map_err(db::internal)?;
    mail::enqueue(
        &mut tx,
        Some(who.user_id),
        &mail::notice_email(
            "password_changed",
            &email,
            &first_name,
            "Your password was changed",
            "The password of your account was just changed, and every other session and token \
             was signed out.",
            &state.auth.app_base_url,
        ),
    )
    .await
    .map_err(db::internal)?;
    tx.commit().await.map_err(db::internal)?;
    tracing::info!(user.id = %who.user_id, "password changed; other sessions revoked");
    Ok(Done { ok: true })
}

pub async fn sessions() -> Result<Vec<SessionInfo>, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let mut conn = state.pool.acquire().await.map_err(db::internal)?;
    export_sessions(&mut conn, &state, who).await
}

/// The user's live sessions, most recently used first.
pub(super) async fn export_sessions(
    conn: &mut PgConnection,
    state: &AppState,
    who: Authenticated,
) -> Result<Vec<SessionInfo>, ApiError> {
    let rows: Vec<SessionRow> = sqlx::query_as(
        "select id, kind, created_at, last_seen_at, user_agent, ip from sessions
         where user_id = $1 and expires_at > now()
           and last_seen_at > now() - make_interval(secs => $2)
         order by last_seen_at desc",
    )
    .bind(who.user_id)
    .bind(state.auth.session_idle_timeout.as_secs_f64())
    .fetch_all(conn)
    .await
    .map_err(db::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            session_id: row.id,
            kind: row.kind,
            created_at: rfc3339(row.created_at),
            last_seen_at: rfc3339(row.last_seen_at),
            user_agent: row.user_agent,
            ip: row.ip,
            current: row.id == who.session_id,
        })
        .collect())
}

pub async fn revoke_session(session_id: String) -> Result<Done, ApiError> {
    let state = expect_context::<AppState>();
    let who: Authenticated = sessions::require(&state).await?;
    let client = client::current(&state.auth.trusted_proxies).await;
    let id = Uuid::parse_str(session_id.trim())
        .map_err(|_| ApiError::invalid("session_id", "This is not a session id."))?;
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    // Only the caller's own sessions: someone else's id is simply not found.
    let removed = sqlx::query("delete from sessions where id = $1 and user_id = $2")
        .bind(id)
        .bind(who.user_id)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?
        .rows_affected();
    if removed == 0 {
        return Err(ApiError::new(ErrorCode::NotFound, "No such session.").with_field("session_id"));
    }
    events::record(&mut tx, who.user_id, EventKind::SessionRevoked, &client)
        .await
        .map_err(db::internal)?;
    tx.commit().await.map_err(db::internal)?;
    Ok(Done { ok: true })
}

pub async fn security_events(
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Vec<SecurityEvent>, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "Use a limit from 1 to 200."));
    }
    let offset = offset.unwrap_or(0);
    let mut conn = state.pool.acquire().await.map_err(db::internal)?;
    export_events(&mut conn, who.user_id, i64::from(limit), i64::from(offset)).await
}

/// The user's security history, newest first.
pub(super) async fn export_events(
    conn: &mut PgConnection,
    user_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<SecurityEvent>, ApiError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "select kind, created_at, ip, user_agent from security_events
         where user_id = $1 order by created_at desc, id desc limit $2 offset $3",
    )
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
    .map_err(db::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| SecurityEvent {
            kind: row.kind,
            created_at: rfc3339(row.created_at),
            ip: row.ip,
            user_agent: row.user_agent,
        })
        .collect())
}
