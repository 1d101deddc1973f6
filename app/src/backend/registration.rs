//! Registration, activation and code resend: the rules behind `/api/register`,
//! `/api/activate` and `/api/resend-code`.

use std::time::Duration;

use leptos::prelude::*;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    basic_auth,
    client::{self, ClientInfo},
    codes::{self, Purpose},
    credentials::FailureCounter,
    db,
    events::{self, EventKind},
    mail, rate_limit,
};
use crate::{
    api::registration::{Activated, CodeSent, RegisterForm, Registered},
    domain::{Email, Password, PersonName, PhoneNumber, VerificationCode},
    error::{ApiError, ErrorCode},
    state::AppState,
};

/// A pending registration stops holding its email and phone once its latest code has expired
/// and it has been idle for `PENDING_HOLD_SECS` ($3).
const STALE_PENDING: &str = "u.status <> 'active'
    and u.last_activity_at < now() - make_interval(secs => $3)
    and not exists (select 1 from verification_codes c
                    where c.user_id = u.id and c.expires_at > now())";

pub async fn register(form: RegisterForm) -> Result<Registered, ApiError> {
    let state = expect_context::<AppState>();
    let auth = &state.auth;
    let client = client::current(&auth.trusted_proxies).await;
    limit_registrations(&state, &client).await?;

    let first_name =
        PersonName::parse(&form.first_name).map_err(|e| ApiError::field("first_name", e))?;
    let last_name =
        PersonName::parse(&form.last_name).map_err(|e| ApiError::field("last_name", e))?;
    let email = Email::parse(&form.email).map_err(|e| ApiError::field("email", e))?;
    let phone = PhoneNumber::parse(&form.phone_number, auth.default_region)
        .map_err(|e| ApiError::field("phone_number", e))?;
    let password = Password::parse(&form.password).map_err(|e| ApiError::field("password", e))?;

    // Addresses already held are refused before spending a hash on them. The unique indexes
    // remain the truth for races.
    let stale_holder = check_not_taken(&state.pool, &email, &phone, auth.pending_hold).await?;
    let password_hash = state.hasher.hash(&password).await?;

    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    // A stale pending registration gives way, in this same transaction: its row (and with it
    // its password and codes) is gone before the new one is written.
    if stale_holder {
        sqlx::query(&format!(
            "delete from users u where (lower(u.email) = lower($1) or u.phone_number = $2) and {STALE_PENDING}"
        ))
        .bind(email.as_str())
        .bind(phone.as_str())
        .bind(auth.pending_hold.as_secs_f64())
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    }
    // One round trip: the account and the first entry of its security history.
    let user_id: Uuid = sqlx::query_scalar(
        "with u as (
             insert into users (first_name, last_name, email, phone_number, password_hash)
             values ($1, $2, $3, $4, $5) returning id
         )
         insert into security_events (user_id, kind, ip, user_agent)
         select id, $6, $7, $8 from u
         returning user_id",
    )
    .bind(first_name.as_str())
    .bind(last_name.as_str())
    .bind(email.as_str())
    .bind(phone.as_str())
    .bind(&password_hash)
    .bind(EventKind::Registered.as_str())
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .fetch_one(&mut *tx)
    .await
    .map_err(db::map_conflict)?;
    send_activation_code(
        &mut tx,
        &state,
        user_id,
        email.as_str(),
        first_name.as_str(),
        &client,
    )
    .await?;
    tx.commit().await.map_err(db::map_conflict)?;

    tracing::info!(user.id = %user_id, "registered; activation code queued");
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::CREATED);
    }
    Ok(Registered {
        user_id,
        email: email.into_inner(),
        phone_number: phone.into_inner(),
        code_expires_in: auth.code_ttl_secs(),
    })
}

async fn limit_registrations(state: &AppState, client: &ClientInfo) -> Result<(), ApiError> {
    let limit = state.auth.register_per_ip_per_minute;
    let (Some(ip), true) = (client.ip, limit > 0) else {
        return Ok(());
    };
    let mut conn = state.pool.acquire().await.map_err(db::internal)?;
    let key = format!("register:ip:{ip}");
    match rate_limit::check(&mut conn, &key, limit, Duration::from_secs(60))
        .await
        .map_err(db::internal)?
    {
        rate_limit::Decision::Allowed => Ok(()),
        rate_limit::Decision::Limited { retry_after } => {
            tracing::warn!(client.ip = %ip, "registration rate limit reached");
            Err(ApiError::new(
                ErrorCode::TooManyRequests,
                "Too many registrations from your network. Please wait a moment.",
            )
            .with_retry_after(retry_after))
        }
    }
}

/// Refuses addresses held by another account; says whether a stale pending registration holds
/// one of them (it gives way in the registration's transaction).
async fn check_not_taken(
    pool: &PgPool,
    email: &Email,
    phone: &PhoneNumber,
    hold: Duration,
) -> Result<bool, ApiError> {
    let holders: Vec<(bool, bool, bool)> = sqlx::query_as(&format!(
        "select lower(u.email) = lower($1), u.phone_number = $2, {STALE_PENDING} from users u
         where lower(u.email) = lower($1) or u.phone_number = $2"
    ))
    .bind(email.as_str())
    .bind(phone.as_str())
    .bind(hold.as_secs_f64())
    .fetch_all(pool)
    .await
    .map_err(db::internal)?;
    let live = |(_, _, stale): &&(bool, bool, bool)| !*stale;
    if holders.iter().filter(live).any(|(email, _, _)| *email) {
        return Err(db::email_taken());
    }
    if holders.iter().filter(live).any(|(_, phone, _)| *phone) {
        return Err(db::phone_taken());
    }
    Ok(!holders.is_empty())
}

/// Issues a fresh code (replacing any previous one) and queues the email, inside `tx`.
async fn send_activation_code(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
    email: &str,
    first_name: &str,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    use secrecy::ExposeSecret as _;

    let auth = &state.auth;
    let code = codes::generate(auth.code_length);
    let code_hash = codes::hash(
        auth.code_key.expose_secret(),
        user_id,
        Purpose::Activation,
        &code,
    );
    let message =
        mail::activation_email(email, first_name, &code, auth.code_ttl, &auth.app_base_url);
    // One round trip: the code (replacing any earlier one), its email in the outbox (not worth
    // sending once the code expires), the history entry, and the worker's wake-up call.
    sqlx::query(
        "with c as (
             insert into verification_codes (user_id, purpose, code_hash, expires_at)
             values ($1, $2, $3, now() + make_interval(secs => $4))
             on conflict (user_id, purpose) do update
                 set code_hash = excluded.code_hash, attempts = 0, issued_at = now(),
                     expires_at = excluded.expires_at
             returning expires_at
         ),
         o as (
             insert into email_outbox
                 (user_id, kind, recipient, subject, text_body, html_body, expires_at)
             select $1, $5, $6, $7, $8, $9, c.expires_at from c
         ),
         e as (
             insert into security_events (user_id, kind, ip, user_agent)
             values ($1, $10, $11, $12)
         ),
         n as (select pg_notify($13, ''))
         select c.expires_at from c, n",
    )
    .bind(user_id)
    .bind(Purpose::Activation.as_str())
    .bind(code_hash)
    .bind(auth.code_ttl.as_secs_f64())
    .bind(message.kind)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(&message.text)
    .bind(&message.html)
    .bind(EventKind::CodeSent.as_str())
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .bind(mail::OUTBOX_CHANNEL)
    .execute(&mut *tx)
    .await
    .map_err(db::internal)?;
    Ok(())
}

/// A pending account, after its Basic-Auth password was verified.
struct PendingAccount {
    id: Uuid,
    email: String,
    first_name: String,
}

/// Checks `Authorization: Basic` against the database. Unknown emails cost a dummy hash, so
/// the answer and its timing are the same as for a wrong password.
async fn authenticate(state: &AppState) -> Result<PendingAccount, ApiError> {
    let headers = leptos_axum::extract::<http::HeaderMap>()
        .await
        .unwrap_or_default();
    let Some(credentials) = basic_auth::parse(&headers) else {
        return Err(ApiError::invalid_credentials()
            .with_message("Send your email address and password with HTTP Basic Auth."));
    };
    let failures = FailureCounter::for_email(&credentials.email);
    // No pooled connection is held while waiting for a hashing slot.
    let row = {
        let mut conn = state.pool.acquire().await.map_err(db::internal)?;
        if let Some(retry_after) = failures
            .blocked_for(&mut conn, &state.auth)
            .await
            .map_err(db::internal)?
        {
            return Err(ApiError::new(
                ErrorCode::TooManyRequests,
                "Too many wrong passwords for this email. Please wait before trying again.",
            )
            .with_retry_after(retry_after));
        }
        let row: Option<(Uuid, String, String, String, String)> = sqlx::query_as(
        "select id, email, first_name, password_hash, status from users where lower(email) = lower($1)",
    )
    .bind(&credentials.email)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db::internal)?;
        row
    };
    let stored_hash = row.as_ref().map(|(_, _, _, hash, _)| hash.as_str());
    if !state
        .hasher
        .verify(&credentials.password, stored_hash)
        .await?
    {
        let mut conn = state.pool.acquire().await.map_err(db::internal)?;
        failures
            .failed(&mut conn, &state.auth)
            .await
            .map_err(db::internal)?;
        return Err(ApiError::invalid_credentials());
    }
    let Some((id, email, first_name, _, status)) = row else {
        return Err(ApiError::invalid_credentials());
    };
    check_pending(&status)?;
    Ok(PendingAccount {
        id,
        email,
        first_name,
    })
}

fn check_pending(status: &str) -> Result<(), ApiError> {
    match status {
        "active" => Err(ApiError::new(
            ErrorCode::AlreadyActive,
            "This account is already activated. You can sign in.",
        )),
        "locked" => Err(account_locked()),
        _ => Ok(()),
    }
}

fn account_locked() -> ApiError {
    ApiError::new(
        ErrorCode::AccountLocked,
        "Too many wrong codes: this registration is locked. Register again later.",
    )
}

pub async fn activate(code: String) -> Result<Activated, ApiError> {
    use secrecy::ExposeSecret as _;

    let state = expect_context::<AppState>();
    let auth = &state.auth;
    let client = client::current(&auth.trusted_proxies).await;
    let account = authenticate(&state).await?;
    let code = VerificationCode::parse(&code, Some(auth.code_length))
        .map_err(|e| ApiError::field("code", e))?;

    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    // The user row lock puts every attempt on this account in a queue: the attempt count is
    // read and written by one request at a time, so parallel guesses cannot exceed it.
    let (status, failed): (String, i32) = sqlx::query_as(
        "update users set last_activity_at = now() where id = $1
         returning status, failed_code_attempts",
    )
    .bind(account.id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db::internal)?;
    check_pending(&status)?;
    let stored: Option<(Vec<u8>, i32, bool)> = sqlx::query_as(
        "select code_hash, attempts, expires_at <= now() from verification_codes
         where user_id = $1 and purpose = $2 for update",
    )
    .bind(account.id)
    .bind(Purpose::Activation.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    let Some((code_hash, attempts, expired)) = stored else {
        return Err(codes::code_expired());
    };
    let verdict = codes::judge(
        || {
            codes::verify(
                auth.code_key.expose_secret(),
                account.id,
                Purpose::Activation,
                code.as_str(),
                &code_hash,
            )
        },
        attempts,
        expired,
        auth.code_max_attempts,
    );
    let attempts_left = match verdict {
        codes::Verdict::Burned => return Err(codes::code_burned()),
        codes::Verdict::Expired => return Err(codes::code_expired()),
        codes::Verdict::Wrong { attempts_left } => attempts_left,
        codes::Verdict::Matched => {
            sqlx::query(
                "update users set status = 'active', email_verified_at = now(),
                     failed_code_attempts = 0
                 where id = $1",
            )
            .bind(account.id)
            .execute(&mut *tx)
            .await
            .map_err(db::internal)?;
            sqlx::query("delete from verification_codes where user_id = $1 and purpose = $2")
                .bind(account.id)
                .bind(Purpose::Activation.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db::internal)?;
            events::record(&mut tx, account.id, EventKind::Activated, &client)
                .await
                .map_err(db::internal)?;
            tx.commit().await.map_err(db::internal)?;
            tracing::info!(user.id = %account.id, "account activated");
            return Ok(Activated { activated: true });
        }
    };

    let attempts = attempts + 1;
    let failed = failed + 1;
    let locks = u32::try_from(failed).unwrap_or(0) >= auth.account_max_failed_codes;
    sqlx::query("update verification_codes set attempts = $2 where user_id = $1 and purpose = $3")
        .bind(account.id)
        .bind(attempts)
        .bind(Purpose::Activation.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    sqlx::query(
        "update users set failed_code_attempts = $2,
             status = case when $3 then 'locked' else status end
         where id = $1",
    )
    .bind(account.id)
    .bind(failed)
    .bind(locks)
    .execute(&mut *tx)
    .await
    .map_err(db::internal)?;
    events::record(&mut tx, account.id, EventKind::ActivationFailed, &client)
        .await
        .map_err(db::internal)?;
    if locks {
        events::record(&mut tx, account.id, EventKind::AccountLocked, &client)
            .await
            .map_err(db::internal)?;
    }
    tx.commit().await.map_err(db::internal)?;
    if locks {
        tracing::warn!(user.id = %account.id, "pending account locked after too many wrong codes");
        return Err(account_locked());
    }
    Err(codes::invalid_code(attempts_left))
}

pub async fn resend_code() -> Result<CodeSent, ApiError> {
    let state = expect_context::<AppState>();
    let auth = &state.auth;
    let client = client::current(&auth.trusted_proxies).await;
    let account = authenticate(&state).await?;

    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    let status: String = sqlx::query_scalar(
        "update users set last_activity_at = now() where id = $1 returning status",
    )
    .bind(account.id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db::internal)?;
    check_pending(&status)?;
    let since_last: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - issued_at)::float8 from verification_codes
         where user_id = $1 and purpose = $2",
    )
    .bind(account.id)
    .bind(Purpose::Activation.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    codes::pace(
        &mut tx,
        auth,
        &format!("resend:user:{}", account.id),
        since_last,
    )
    .await?;
    send_activation_code(
        &mut tx,
        &state,
        account.id,
        &account.email,
        &account.first_name,
        &client,
    )
    .await?;
    tx.commit().await.map_err(db::internal)?;
    tracing::info!(user.id = %account.id, "activation code resent");
    Ok(CodeSent {
        code_expires_in: auth.code_ttl_secs(),
    })
}
