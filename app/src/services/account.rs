//! The signed-in account: profile, password, sessions, security history, export and deletion.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::t;
use crate::{
    domain::{Password, PersonName, PhoneNumber},
    error::{ApiError, Context as _, ErrorCode},
    infra::second_factor::SECOND_FACTOR_COLUMNS,
    infra::{
        client::ClientInfo,
        credentials::{self, FailureCounter},
        db::DbResultExt as _,
        events,
        mail::{self, EmailKind},
        sessions::{self, Caller, Presented},
        webhooks::{self, Deletion, Event},
    },
    language::Locale,
    model::{AccountExport, EventKind, Profile, Secret, SecurityEvent, SessionInfo},
    state::AppState,
    t_in,
};

/// The fields `update-profile` may change.
const EDITABLE: [&str; 4] = ["first_name", "last_name", "phone_number", "language"];

/// The profile behind a presented session, in one query with the session lookup (the hot read
/// path); `None` when nothing was presented or the session is over.
pub async fn profile_of(
    state: &AppState,
    session: Option<Presented>,
) -> Result<Option<Profile>, ApiError> {
    match session {
        Some(presented) => {
            sessions::profile(&state.pool, &state.settings.sessions, &presented).await
        }
        None => Ok(None),
    }
}

pub async fn load_profile(conn: &mut PgConnection, user_id: Uuid) -> Result<Profile, ApiError> {
    static LOAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "select u.id, u.first_name, u.last_name, u.email, u.phone_number,
                    u.phone_number as phone_display, u.role,
                    rfc3339(u.email_verified_at) as email_verified_at,
                    rfc3339(u.created_at) as created_at, u.language, {SECOND_FACTOR_COLUMNS}
             from users u where u.id = $1"
        )
    });
    sqlx::query_as(&LOAD)
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .context("load a profile")?
        .ok_or_else(ApiError::unauthenticated)
}

/// Changes any of the editable fields; any other key is refused, and nothing is applied.
#[tracing::instrument(name = "account.update_profile", skip_all, fields(user.id = %caller.user_id))]
pub async fn update_profile(
    state: &AppState,
    caller: &Caller,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<Profile, ApiError> {
    if let Some(unknown) = changes.keys().find(|k| !EDITABLE.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            unknown.as_str(),
            t!(errors.field_not_editable, field = unknown),
        ));
    }
    let text = |key: &str| -> Result<Option<&str>, ApiError> {
        match changes.get(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(key, t!(errors.send_as_string))),
        }
    };
    let name = |key: &str| -> Result<Option<PersonName>, ApiError> {
        text(key)?
            .map(|v| PersonName::parse(v).map_err(|e| ApiError::field(key, e)))
            .transpose()
    };
    let first_name = name("first_name")?;
    let last_name = name("last_name")?;
    let phone = text("phone_number")?
        .map(|v| {
            PhoneNumber::parse(v, state.settings.registration.default_phone_region)
                .map_err(|e| ApiError::field("phone_number", e))
        })
        .transpose()?;
    // A language the product has, or `null` for none (the browser's decides again).
    let language = match changes.get("language") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(code)) => match crate::language::supported(code) {
            Some(locale) if locale.code() == code => Some(Some(locale)),
            _ => {
                return Err(ApiError::invalid(
                    "language",
                    t!(errors.pick_one_of, choices = language_codes()),
                ));
            }
        },
        Some(_) => {
            return Err(ApiError::invalid(
                "language",
                t!(errors.language_code_or_null),
            ));
        }
    };

    let mut tx = state.pool.begin().await.context("begin a profile update")?;
    sqlx::query(
        "update users set first_name = coalesce($2, first_name),
             last_name = coalesce($3, last_name),
             phone_number = coalesce($4, phone_number),
             language = case when $5 then $6 else language end
         where id = $1",
    )
    .bind(caller.user_id)
    .bind(first_name.as_ref().map(PersonName::as_str))
    .bind(last_name.as_ref().map(PersonName::as_str))
    .bind(phone.as_ref().map(PhoneNumber::as_str))
    .bind(language.is_some())
    .bind(language.flatten())
    .execute(&mut *tx)
    .await
    .on_user_conflict("update a profile")?;
    let profile = load_profile(&mut tx, caller.user_id).await?;
    tx.commit()
        .await
        .on_user_conflict("commit a profile update")?;
    Ok(profile)
}

/// The codes `update-profile` takes for `language`, as a sentence's list.
fn language_codes() -> String {
    crate::language::Locale::ALL
        .iter()
        .map(|locale| locale.code())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow)]
struct Owner {
    email: String,
    first_name: String,
}

/// Checks the caller's own password again before a sensitive change, through the same check
/// (and the same limits and history) as signing in, so a stolen session cannot guess the
/// password any faster. `field` names the input in the error. Gives the email and first name.
pub async fn recheck_password(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    password: &Secret,
    field: &str,
) -> Result<(String, String), ApiError> {
    let owner: Owner = sqlx::query_as("select email, first_name from users where id = $1")
        .bind(caller.user_id)
        .fetch_optional(&state.pool)
        .await
        .context("load the account")?
        .ok_or_else(ApiError::unauthenticated)?;
    match credentials::verify(state, client, &owner.email, password).await {
        Ok(_) => Ok((owner.email, owner.first_name)),
        Err(e) if e.error == ErrorCode::InvalidCredentials => {
            let message = if field == "current_password" {
                t!(errors.current_password_wrong)
            } else {
                t!(errors.password_wrong)
            };
            Err(e.with_message(message).with_field(field))
        }
        Err(e) => Err(e),
    }
}

/// Sets a new password and signs every other session and token out.
#[tracing::instrument(name = "account.change_password", skip_all, fields(user.id = %caller.user_id))]
pub async fn change_password(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    current_password: &Secret,
    new_password: &Secret,
) -> Result<(), ApiError> {
    let new_password =
        Password::parse(new_password.expose()).map_err(|e| ApiError::field("new_password", e))?;
    let (email, first_name) =
        recheck_password(state, client, caller, current_password, "current_password").await?;
    let hash = state.hasher.hash(&new_password).await?;
    let language = mail::language_for(caller.language);
    let notice = mail::notice_email(
        (EmailKind::PasswordChanged, language),
        &email,
        &first_name,
        t_in!(language, mail.password_changed_subject),
        t_in!(language, mail.password_changed_body),
        &state.settings.http.link("/login"),
    )?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin a password change")?;
    set_password(&mut tx, caller.user_id, &hash).await?;
    // Whoever else knew the old password is out, everywhere, now.
    sessions::end_all(&mut tx, caller.user_id, Some(caller.session_id)).await?;
    crate::services::second_factor::forget_pending(&mut tx, caller.user_id).await?;
    events::record(&mut tx, caller.user_id, EventKind::PasswordChanged, client).await?;
    webhooks::publish(
        &mut tx,
        &state.settings.webhooks,
        Event::user_password_changed(caller.user_id, false),
    )
    .await?;
    mail::enqueue(&mut tx, Some(caller.user_id), &notice).await?;
    tx.commit().await.context("commit a password change")?;
    tracing::info!("password changed; other sessions revoked");
    Ok(())
}

pub async fn set_password(
    conn: &mut PgConnection,
    user_id: Uuid,
    hash: &str,
) -> Result<(), ApiError> {
    sqlx::query("update users set password_hash = $2 where id = $1")
        .bind(user_id)
        .bind(hash)
        .execute(conn)
        .await
        .context("store a password hash")?;
    Ok(())
}

/// The caller's live sessions, most recently used first.
pub async fn list_sessions(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<SessionInfo>, ApiError> {
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    sessions(&mut conn, state, caller).await
}

async fn sessions(
    conn: &mut PgConnection,
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<SessionInfo>, ApiError> {
    sqlx::query_as(
        "select id, kind, rfc3339(created_at) as created_at,
                rfc3339(last_seen_at) as last_seen_at, user_agent, ip, id = $3 as current
         from sessions
         where user_id = $1 and expires_at > now()
           and last_seen_at > now() - make_interval(secs => $2)
         order by sessions.last_seen_at desc",
    )
    .bind(caller.user_id)
    .bind(state.settings.sessions.idle_timeout.as_secs_f64())
    .bind(caller.session_id)
    .fetch_all(conn)
    .await
    .context("list sessions")
}

/// Ends one of the caller's own sessions; someone else's id is simply not found.
pub async fn revoke_session(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    session_id: &str,
) -> Result<(), ApiError> {
    let id = Uuid::parse_str(session_id.trim())
        .map_err(|_| ApiError::invalid("session_id", t!(errors.not_a_session_id)))?;
    let mut tx = state.pool.begin().await.context("begin a revocation")?;
    let removed = sqlx::query("delete from sessions where id = $1 and user_id = $2")
        .bind(id)
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await
        .context("revoke a session")?
        .rows_affected();
    if removed == 0 {
        return Err(ApiError::not_found(t!(errors.no_such_session)).with_field("session_id"));
    }
    events::record(&mut tx, caller.user_id, EventKind::SessionRevoked, client).await?;
    tx.commit().await.context("commit a revocation")?;
    Ok(())
}

/// The caller's security history, newest first.
pub async fn security_events(
    state: &AppState,
    caller: &Caller,
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Vec<SecurityEvent>, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            t!(errors.limit_range, max = 200),
        ));
    }
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    let offset = i64::from(offset.unwrap_or(0));
    events_page(&mut conn, caller.user_id, i64::from(limit), offset).await
}

async fn events_page(
    conn: &mut PgConnection,
    user_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<SecurityEvent>, ApiError> {
    sqlx::query_as(
        "select kind, rfc3339(created_at) as created_at, ip, user_agent from security_events
         where user_id = $1 order by security_events.created_at desc, security_events.id desc limit $2 offset $3",
    )
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
    .context("list security events")
}

/// Everything the product stores about the caller, without secrets.
pub async fn export(state: &AppState, caller: &Caller) -> Result<AccountExport, ApiError> {
    let mut conn = state.pool.acquire().await.context("acquire a connection")?;
    Ok(AccountExport {
        profile: load_profile(&mut conn, caller.user_id).await?,
        sessions: sessions(&mut conn, state, caller).await?,
        security_events: events_page(&mut conn, caller.user_id, i64::MAX, 0).await?,
    })
}

/// Deletes the caller's account after checking their password: email and phone are free
/// again, a goodbye email goes out.
#[tracing::instrument(name = "account.delete", skip_all, fields(user.id = %caller.user_id))]
pub async fn delete(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    password: &Secret,
) -> Result<(), ApiError> {
    let (email, first_name) = recheck_password(state, client, caller, password, "password").await?;
    let mut tx = state.pool.begin().await.context("begin a deletion")?;
    erase(
        &mut tx,
        state,
        (caller.user_id, &email, &first_name),
        Deletion::ByUser,
    )
    .await?;
    tx.commit().await.context("commit a deletion")?;
    tracing::info!("account deleted");
    Ok(())
}

/// Deletes an account in `tx`, for the person themselves and for an administrator alike: mail
/// not yet sent to it is dropped, the row goes (and by cascade its sessions, codes and
/// history), its email and phone are free again, a goodbye email is queued and `user.deleted`
/// published. `who`: the account's id, email and first name.
pub async fn erase(
    tx: &mut PgConnection,
    state: &AppState,
    (user_id, email, first_name): (Uuid, &str, &str),
    by: Deletion,
) -> Result<(), ApiError> {
    let picked: Option<Option<Locale>> =
        sqlx::query_scalar("select language from users where id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .context("load the account's language")?;
    let language = mail::language_for(picked.flatten());
    let goodbye = mail::notice_email(
        (EmailKind::Goodbye, language),
        email,
        first_name,
        t_in!(language, mail.goodbye_subject),
        t_in!(language, mail.goodbye_body),
        &state.settings.http.link("/login"),
    )?;
    sqlx::query("delete from email_outbox where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("drop the account's queued mail")?;
    sqlx::query("delete from users where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("delete the account")?;
    webhooks::publish(
        &mut *tx,
        &state.settings.webhooks,
        Event::user_deleted(user_id, by),
    )
    .await?;
    FailureCounter::for_email(email).clear(&mut *tx).await?;
    mail::enqueue(&mut *tx, None, &goodbye).await
}
