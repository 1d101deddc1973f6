//! Resetting a forgotten password. Resets are keyed by the address asked for, known or not:
//! an unknown address gets a code too (that nobody receives), so neither endpoint tells
//! whether an account exists.

use uuid::Uuid;

use crate::{
    domain::{Email, Password, VerificationCode},
    error::{ApiError, Context as _},
    infra::{
        client::ClientInfo,
        codes::{self, Owner, Slot},
        credentials::FailureCounter,
        events,
        mail::{self, CodeMessage, EmailKind},
        sessions,
        webhooks::{self, Event},
    },
    model::{AccountStatus, EventKind, Secret},
    services::account::set_password,
    state::AppState,
};

/// Parses the address; the caller answers right away and runs [`send_code`] after, so the
/// answer and its timing never depend on the address.
pub fn parse_request(email: &str) -> Result<Email, ApiError> {
    Email::parse(email).map_err(|e| ApiError::field("email", e))
}

#[derive(sqlx::FromRow)]
struct Account {
    id: Uuid,
    email: String,
    first_name: String,
}

/// Issues a reset code for `email` and mails it when an active account has that address.
#[tracing::instrument(name = "password_reset.send_code", skip_all)]
pub async fn send_code(
    state: &AppState,
    client: &ClientInfo,
    email: &Email,
) -> Result<(), ApiError> {
    let settings = &state.settings;
    let slot = Slot::password_reset(email.as_str());
    let mut tx = state.pool.begin().await.context("begin a reset request")?;
    let account: Option<Account> = sqlx::query_as(
        "select id, email, first_name from users
         where lower(email) = lower($1) and status = $2 for update",
    )
    .bind(codes::storable(email.as_str()))
    .bind(AccountStatus::Active)
    .fetch_optional(&mut *tx)
    .await
    .context("find the account to reset")?;
    codes::pace(&mut tx, &settings.codes, &slot).await?;
    let issued = codes::issue(
        &mut tx,
        &settings.codes,
        &slot,
        Owner {
            user_id: account.as_ref().map(|a| a.id),
            new_email: None,
        },
    )
    .await?;
    if let Some(account) = &account {
        let mut message = mail::code_email(CodeMessage {
            kind: EmailKind::PasswordReset,
            recipient: &account.email,
            first_name: &account.first_name,
            subject: format!("{} is your password reset code", issued.code),
            purpose: "Someone asked to reset the password of your account.",
            ignore: "If it was not you, ignore this email: your password stays as it is.",
            code: &issued.code,
            ttl: settings.codes.ttl,
        })?;
        message.expires_at = Some(issued.expires_at);
        mail::enqueue(&mut tx, Some(account.id), &message).await?;
        events::record(&mut tx, account.id, EventKind::CodeSent, client).await?;
    }
    tx.commit().await.context("commit a reset request")?;
    Ok(())
}

/// Sets a new password with the emailed code; every session and token of the account ends.
#[tracing::instrument(name = "password_reset.reset", skip_all, fields(user.id))]
pub async fn reset(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    code: &str,
    new_password: &Secret,
) -> Result<(), ApiError> {
    let settings = &state.settings;
    let slot = Slot::password_reset(email);
    let code = VerificationCode::parse(code, Some(settings.codes.length))
        .map_err(|e| ApiError::field("code", e))?;
    let new_password =
        Password::parse(new_password.expose()).map_err(|e| ApiError::field("new_password", e))?;
    // Hashed before the code's row is locked: no lock or pooled connection waits for a hashing
    // slot. Every try costs one hash, known address or not, so timing tells nothing either.
    let hash = state.hasher.hash(&new_password).await?;

    let mut tx = state.pool.begin().await.context("begin a reset")?;
    let matched = match codes::attempt(&mut tx, &settings.codes, &slot, &code).await? {
        Ok(matched) => matched,
        Err(wrong) => {
            tx.commit().await.context("commit a wrong code")?;
            return Err(wrong.error);
        }
    };
    // A matching code for an address with no account cannot happen (nobody received it).
    let Some(user_id) = matched.user_id else {
        return Err(ApiError::code_expired());
    };
    tracing::Span::current().record("user.id", tracing::field::display(user_id));
    set_password(&mut tx, user_id, &hash).await?;
    sessions::end_all(&mut tx, user_id, None).await?;
    FailureCounter::for_email(slot.subject())
        .clear(&mut tx)
        .await?;
    events::record(&mut tx, user_id, EventKind::PasswordReset, client).await?;
    webhooks::publish(
        &mut tx,
        &settings.webhooks,
        Event::user_password_changed(user_id, true),
    )
    .await?;
    tx.commit().await.context("commit a reset")?;
    tracing::info!("password reset; every session revoked");
    Ok(())
}
