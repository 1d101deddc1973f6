//! Changing the email address, resetting a forgotten password, exporting and deleting the
//! account (see `api::account`).

use leptos::prelude::*;
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use super::{
    account::{export_events, export_sessions, load_profile},
    client::{self, ClientInfo},
    codes::{self, Purpose, Verdict},
    credentials::FailureCounter,
    db,
    events::{self, EventKind},
    mail::{self, CodeMessage},
    sessions,
};
use crate::{
    api::account::{AccountExport, CodeSentTo, Done, Profile},
    domain::{Email, Password, VerificationCode},
    error::{ApiError, ErrorCode},
    state::AppState,
};

async fn verify_password(
    state: &AppState,
    user_id: Uuid,
    password: &str,
) -> Result<(String, String), ApiError> {
    let (email, first_name, stored): (String, String, String) =
        sqlx::query_as("select email, first_name, password_hash from users where id = $1")
            .bind(user_id)
            .fetch_one(&state.pool)
            .await
            .map_err(db::internal)?;
    if !state.hasher.verify(password, Some(&stored)).await? {
        return Err(ApiError::invalid_credentials()
            .with_message("The password is wrong.")
            .with_field("password"));
    }
    Ok((email, first_name))
}

pub async fn change_email(new_email: String, password: String) -> Result<CodeSentTo, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let client = client::current(&state.auth.trusted_proxies).await;
    let new_email = Email::parse(&new_email).map_err(|e| ApiError::field("new_email", e))?;
    let (old_email, first_name) = verify_password(&state, who.user_id, &password).await?;
    if old_email.eq_ignore_ascii_case(new_email.as_str()) {
        return Err(ApiError::invalid(
            "new_email",
            "This is already your email address.",
        ));
    }
    let taken: bool =
        sqlx::query_scalar("select exists(select 1 from users where lower(email) = lower($1))")
            .bind(new_email.as_str())
            .fetch_one(&state.pool)
            .await
            .map_err(db::internal)?;
    if taken {
        return Err(db::email_taken().with_field("new_email"));
    }

    let auth = &state.auth;
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    sqlx::query("select 1 from users where id = $1 for update")
        .bind(who.user_id)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    let last: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - issued_at)::float8 from verification_codes
         where user_id = $1 and purpose = $2",
    )
    .bind(who.user_id)
    .bind(Purpose::EmailChange.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    codes::pace(
        &mut tx,
        &state.auth,
        &format!("email-change:user:{}", who.user_id),
        last,
    )
    .await?;

    let code = codes::generate(auth.code_length);
    let code_hash = codes::hash(
        auth.code_key.expose_secret(),
        who.user_id,
        Purpose::EmailChange,
        &code,
    );
    sqlx::query(
        "insert into verification_codes (user_id, purpose, code_hash, expires_at, new_email)
         values ($1, $2, $3, now() + make_interval(secs => $4), $5)
         on conflict (user_id, purpose) do update
             set code_hash = excluded.code_hash, attempts = 0, issued_at = now(),
                 expires_at = excluded.expires_at, new_email = excluded.new_email",
    )
    .bind(who.user_id)
    .bind(Purpose::EmailChange.as_str())
    .bind(&code_hash)
    .bind(auth.code_ttl.as_secs_f64())
    .bind(new_email.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db::internal)?;
    let to_new = mail::code_email(CodeMessage {
        kind: "email_change",
        recipient: new_email.as_str(),
        first_name: &first_name,
        subject: format!("{code} is your code to confirm this email address"),
        purpose: "Confirm this address as the new email of your account.",
        ignore: "If you did not ask for this, ignore this email: nothing changes.",
        code: &code,
        ttl: auth.code_ttl,
    });
    mail::enqueue(&mut tx, Some(who.user_id), &to_new)
        .await
        .map_err(db::internal)?;
    let to_old = mail::notice_email(
        "email_change_notice",
        &old_email,
        &first_name,
        "Your email address is about to change",
        &format!(
            "Someone signed in to your account asked to change its email address to {}. \
             Nothing changes until the code sent there is entered.",
            new_email.as_str()
        ),
        &auth.app_base_url,
    );
    mail::enqueue(&mut tx, Some(who.user_id), &to_old)
        .await
        .map_err(db::internal)?;
    events::record(
        &mut tx,
        who.user_id,
        EventKind::EmailChangeRequested,
        &client,
    )
    .await
    .map_err(db::internal)?;
    tx.commit().await.map_err(db::internal)?;
    Ok(CodeSentTo {
        code_expires_in: auth.code_ttl_secs(),
    })
}

pub async fn confirm_email(code: String) -> Result<Profile, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let client = client::current(&state.auth.trusted_proxies).await;
    let auth = &state.auth;
    let code = VerificationCode::parse(&code, Some(auth.code_length))
        .map_err(|e| ApiError::field("code", e))?;
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    let stored: Option<(Vec<u8>, i32, bool, String)> = sqlx::query_as(
        "select code_hash, attempts, expires_at <= now(), new_email from verification_codes
         where user_id = $1 and purpose = $2 for update",
    )
    .bind(who.user_id)
    .bind(Purpose::EmailChange.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    let Some((code_hash, attempts, expired, new_email)) = stored else {
        return Err(codes::code_expired()
            .with_message("There is no email change waiting. Ask for a new code."));
    };
    let verdict = codes::judge(
        || {
            codes::verify(
                auth.code_key.expose_secret(),
                who.user_id,
                Purpose::EmailChange,
                code.as_str(),
                &code_hash,
            )
        },
        attempts,
        expired,
        auth.code_max_attempts,
    );
    match verdict {
        Verdict::Burned => Err(codes::code_burned()),
        Verdict::Expired => Err(codes::code_expired()),
        Verdict::Wrong { attempts_left } => {
            sqlx::query("update verification_codes set attempts = attempts + 1 where user_id = $1 and purpose = $2")
                .bind(who.user_id)
                .bind(Purpose::EmailChange.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db::internal)?;
            tx.commit().await.map_err(db::internal)?;
            Err(codes::invalid_code(attempts_left))
        }
        Verdict::Matched => {
            // The unique index decides a race with a registration of the same address.
            sqlx::query("update users set email = $2, email_verified_at = now() where id = $1")
                .bind(who.user_id)
                .bind(&new_email)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db::map_conflict(e) {
                    conflict if conflict.error == ErrorCode::EmailTaken => conflict
                        .with_message("This address was taken by another account in the meantime."),
                    other => other,
                })?;
            sqlx::query("delete from verification_codes where user_id = $1 and purpose = $2")
                .bind(who.user_id)
                .bind(Purpose::EmailChange.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db::internal)?;
            events::record(&mut tx, who.user_id, EventKind::EmailChanged, &client)
                .await
                .map_err(db::internal)?;
            let profile = load_profile(&mut tx, who.user_id).await?;
            tx.commit().await.map_err(db::map_conflict)?;
            tracing::info!(user.id = %who.user_id, "email address changed");
            Ok(profile)
        }
    }
}

/// The key a reset is stored under: the address as asked for, lower-cased.
fn reset_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn request_password_reset(email: String) -> Result<Done, ApiError> {
    let state = expect_context::<AppState>();
    let client = client::current(&state.auth.trusted_proxies).await;
    let email = Email::parse(&email).map_err(|e| ApiError::field("email", e))?;
    // The answer never depends on the address: the work happens after it is sent, so neither
    // the body nor the timing says whether an account exists.
    tokio::spawn(async move {
        if let Err(e) = issue_reset(&state, &client, email.as_str()).await {
            if e.error == ErrorCode::Internal {
                tracing::error!(error.cause = %e.message, "password reset request failed");
            } else {
                tracing::info!(reason = %e.message, "password reset not sent");
            }
        }
    });
    Ok(Done { ok: true })
}

async fn issue_reset(state: &AppState, client: &ClientInfo, email: &str) -> Result<(), ApiError> {
    let auth = &state.auth;
    let key = reset_key(email);
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    let account: Option<(Uuid, String, String)> = sqlx::query_as(
        "select id, email, first_name from users where lower(email) = $1 and status = 'active' for update",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    let last: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from now() - issued_at)::float8 from password_resets where email_key = $1",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    codes::pace(&mut tx, &state.auth, &format!("reset:email:{key}"), last).await?;
    // Unknown addresses get a row too, with a code nobody receives.
    let code = codes::generate(auth.code_length);
    let code_hash = codes::hash_for(
        auth.code_key.expose_secret(),
        key.as_bytes(),
        Purpose::PasswordReset,
        &code,
    );
    sqlx::query(
        "insert into password_resets (email_key, user_id, code_hash, expires_at)
         values ($1, $2, $3, now() + make_interval(secs => $4))
         on conflict (email_key) do update
             set user_id = excluded.user_id, code_hash = excluded.code_hash, attempts = 0,
                 issued_at = now(), expires_at = excluded.expires_at",
    )
    .bind(&key)
    .bind(account.as_ref().map(|(id, _, _)| *id))
    .bind(&code_hash)
    .bind(auth.code_ttl.as_secs_f64())
    .execute(&mut *tx)
    .await
    .map_err(db::internal)?;
    if let Some((user_id, address, first_name)) = &account {
        let message = mail::code_email(CodeMessage {
            kind: "password_reset",
            recipient: address,
            first_name,
            subject: format!("{code} is your password reset code"),
            purpose: "Someone asked to reset the password of your account.",
            ignore: "If it was not you, ignore this email: your password stays as it is.",
            code: &code,
            ttl: auth.code_ttl,
        });
        mail::enqueue(&mut tx, Some(*user_id), &message)
            .await
            .map_err(db::internal)?;
        events::record(&mut tx, *user_id, EventKind::CodeSent, client)
            .await
            .map_err(db::internal)?;
    }
    tx.commit().await.map_err(db::internal)?;
    Ok(())
}

pub async fn reset_password(
    email: String,
    code: String,
    new_password: String,
) -> Result<Done, ApiError> {
    let state = expect_context::<AppState>();
    let client = client::current(&state.auth.trusted_proxies).await;
    let auth = &state.auth;
    let key = reset_key(&email);
    let code = VerificationCode::parse(&code, Some(auth.code_length))
        .map_err(|e| ApiError::field("code", e))?;
    let new_password =
        Password::parse(&new_password).map_err(|e| ApiError::field("new_password", e))?;

    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    let stored: Option<(Option<Uuid>, Vec<u8>, i32, bool)> = sqlx::query_as(
        "select user_id, code_hash, attempts, expires_at <= now() from password_resets
         where email_key = $1 for update",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db::internal)?;
    let Some((user_id, code_hash, attempts, expired)) = stored else {
        return Err(codes::code_expired());
    };
    let verdict = codes::judge(
        || {
            codes::verify_for(
                auth.code_key.expose_secret(),
                key.as_bytes(),
                Purpose::PasswordReset,
                code.as_str(),
                &code_hash,
            )
        },
        attempts,
        expired,
        auth.code_max_attempts,
    );
    let user_id = match (verdict, user_id) {
        (Verdict::Burned, _) => return Err(codes::code_burned()),
        (Verdict::Expired, _) => return Err(codes::code_expired()),
        (Verdict::Matched, Some(user_id)) => user_id,
        (Verdict::Wrong { attempts_left }, _) => {
            sqlx::query("update password_resets set attempts = attempts + 1 where email_key = $1")
                .bind(&key)
                .execute(&mut *tx)
                .await
                .map_err(db::internal)?;
            tx.commit().await.map_err(db::internal)?;
            return Err(codes::invalid_code(attempts_left));
        }
        // A matching code for an address with no account cannot happen (nobody received it).
        (Verdict::Matched, None) => return Err(codes::code_expired()),
    };
    let hash = state.hasher.hash(&new_password).await?;
    sqlx::query("update users set password_hash = $2 where id = $1")
        .bind(user_id)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    sqlx::query("delete from sessions where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    sqlx::query("delete from password_resets where email_key = $1")
        .bind(&key)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    FailureCounter::for_email(&key)
        .clear(&mut tx)
        .await
        .map_err(db::internal)?;
    events::record(&mut tx, user_id, EventKind::PasswordReset, &client)
        .await
        .map_err(db::internal)?;
    tx.commit().await.map_err(db::internal)?;
    tracing::info!(user.id = %user_id, "password reset; every session revoked");
    Ok(Done { ok: true })
}

pub async fn delete_account(password: String) -> Result<Done, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let (email, first_name) = verify_password(&state, who.user_id, &password).await?;
    let mut tx = state.pool.begin().await.map_err(db::internal)?;
    // Mail not yet sent to them is moot; what was sent keeps no body. Then the account goes,
    // and with it (by cascade) its sessions, codes and history.
    sqlx::query("delete from email_outbox where user_id = $1")
        .bind(who.user_id)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    sqlx::query("delete from users where id = $1")
        .bind(who.user_id)
        .execute(&mut *tx)
        .await
        .map_err(db::internal)?;
    FailureCounter::for_email(&email)
        .clear(&mut tx)
        .await
        .map_err(db::internal)?;
    let goodbye = mail::notice_email(
        "goodbye",
        &email,
        &first_name,
        "Your account was deleted",
        "Your account and everything we stored about it were deleted. Your email address and \\
         phone number are free to use again.",
        &state.auth.app_base_url,
    );
    mail::enqueue(&mut tx, None, &goodbye)
        .await
        .map_err(db::internal)?;
    tx.commit().await.map_err(db::internal)?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(
            http::header::SET_COOKIE,
            sessions::clearing_cookie(&state.auth),
        );
    }
    tracing::info!(user.id = %who.user_id, "account deleted");
    Ok(Done { ok: true })
}

pub async fn export_account() -> Result<AccountExport, ApiError> {
    let state = expect_context::<AppState>();
    let who = sessions::require(&state).await?;
    let mut conn = state.pool.acquire().await.map_err(db::internal)?;
    Ok(AccountExport {
        profile: load_profile(&mut conn, who.user_id).await?,
        sessions: export_sessions(&mut conn, &state, who).await?,
        security_events: export_events(&mut conn, who.user_id, i64::MAX, 0).await?,
    })
}
