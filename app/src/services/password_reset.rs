//! Resetting a forgotten password. Resets are keyed by the address asked for, known or not:
//! an unknown address gets a code too (that nobody receives), so neither endpoint tells
//! whether an account exists.
//!
//! A request is a row of work ([`request`]), answered at once the same way for every address;
//! the reset worker ([`handle_next`]) issues the code and queues its email, at its own pace, in
//! the transaction that takes the row. A code guards the whole account, so it is long
//! (`RESET_CODE_LENGTH`, 10 digits by default) and its wrong tries are capped per address over
//! all its codes (`RESET_FAILURES_PER_DAY`) and per network (`RATE_LIMIT_RESET_PER_NETWORK`):
//! [`takeover_bound`] is what those settings allow an attacker.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{Email, Password, VerificationCode},
    error::{ApiError, Context as _},
    infra::{
        client::ClientInfo,
        codes::{self, Owner, Purpose, Slot},
        config::{CodeSettings, LimitSettings, Settings},
        credentials::FailureCounter,
        events,
        mail::{self, CodeMessage, EmailKind},
        metrics::{self, LimitKind},
        rate_limit, sessions,
        webhooks::{self, Event},
    },
    language::Locale,
    model::{AccountStatus, EventKind, Secret},
    services::account::set_password,
    state::AppState,
    t_in,
};

/// Postgres channel the reset worker listens on: a request was queued.
pub const REQUEST_CHANNEL: &str = "password_reset_requests";

/// A request whose handling failed is tried this many times, then dropped (and logged).
const MAX_REQUEST_ATTEMPTS: i32 = 5;

/// The wrong-code cap's window.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The chance that someone who knows only an address resets its password within `period`,
/// guessing codes as fast as the limits allow: at most `g / 10^L`, where `L` is the reset code's
/// length and `g` the most tries the per-address cap lets through in `period` (its burst of
/// `RESET_FAILURES_PER_DAY`, then one try per `24 h / RESET_FAILURES_PER_DAY`, plus the one that
/// would succeed). Each try matches a uniformly random code with probability `10^-L` whichever
/// code it is aimed at, so the union bound holds however the tries are spread over codes. No
/// other limit is counted: per-network limits do not stop an attacker with many networks, and a
/// new code per five tries changes nothing in the sum.
pub fn takeover_bound(codes: &CodeSettings, limits: &LimitSettings, period: Duration) -> f64 {
    let per_day = f64::from(limits.reset_failures_per_day);
    let interval = DAY.as_secs_f64() / per_day;
    let tries = per_day + (period.as_secs_f64() / interval).floor() + 1.0;
    let length = i32::try_from(codes.reset_length).unwrap_or(i32::MAX);
    tries / 10f64.powi(length)
}

/// Queues a reset request for `email`: one row, whatever the address. The answer does not
/// depend on the address; only the network's limit can refuse it (429).
#[tracing::instrument(name = "password_reset.request", skip_all)]
pub async fn request(state: &AppState, client: &ClientInfo, email: &str) -> Result<(), ApiError> {
    let email = Email::parse(email).map_err(|e| ApiError::field("email", e))?;
    let mut tx = state.pool.begin().await.context("begin a reset request")?;
    limit_network(&mut tx, &state.settings, client, "request").await?;
    sqlx::query(
        "with r as (
             insert into password_reset_requests (email, client_ip, user_agent, language)
             values ($1, $2, $3, $5)
         )
         select pg_notify($4, '')",
    )
    .bind(codes::storable(email.as_str()))
    .bind(client.ip_text())
    .bind(client.user_agent.as_deref())
    .bind(REQUEST_CHANNEL)
    .bind(crate::language::page_language())
    .execute(&mut *tx)
    .await
    .context("queue a reset request")?;
    tx.commit().await.context("commit a reset request")?;
    Ok(())
}

/// Counts one reset request or attempt (`what`) against the client's network.
async fn limit_network(
    conn: &mut PgConnection,
    settings: &Settings,
    client: &ClientInfo,
    what: &str,
) -> Result<(), ApiError> {
    let per_hour = settings.limits.reset_per_network_per_hour;
    let Some(network) = client.network().filter(|_| per_hour > 0) else {
        return Ok(());
    };
    let key = format!("reset:{what}:net:{network}");
    let decision = rate_limit::check(conn, &key, per_hour, Duration::from_secs(3600))
        .await
        .context("count reset requests from this network")?;
    match decision {
        rate_limit::Decision::Allowed => Ok(()),
        rate_limit::Decision::Limited { retry_after } => {
            tracing::warn!(client.network = %network, what, "password resets from this network limited");
            metrics::rate_limited(LimitKind::ResetPerNetwork);
            Err(too_many_tries(retry_after))
        }
    }
}

fn too_many_tries(retry_after: u64) -> ApiError {
    ApiError::too_many_attempts(retry_after).with_message(crate::language::plural(
        crate::language::k::errors::too_many_reset_tries,
        retry_after,
    ))
}

/// What the reset worker found to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// One request handled (or, after too many failures, dropped): look for the next at once.
    One,
    /// Nothing due.
    Idle,
}

#[derive(sqlx::FromRow)]
struct Request {
    id: i64,
    email: String,
    client_ip: Option<String>,
    user_agent: Option<String>,
    attempts: i32,
    /// The language of the request, for an account that picked none.
    language: Option<Locale>,
}

/// Takes the oldest due request and handles it in the same transaction: the code, its email
/// and the row's removal commit together, or none of them does (and the row is tried again
/// later, at most [`MAX_REQUEST_ATTEMPTS`] times).
#[tracing::instrument(name = "password_reset.handle_next", skip_all, fields(request.id))]
pub async fn handle_next(state: &AppState) -> Result<Handled, ApiError> {
    let mut tx = state.pool.begin().await.context("begin a reset")?;
    let next: Option<Request> = sqlx::query_as(
        "select id, email, client_ip, user_agent, attempts, language from password_reset_requests
         where not_before <= now() order by not_before, id limit 1 for update skip locked",
    )
    .fetch_optional(&mut *tx)
    .await
    .context("take a reset request")?;
    let Some(next) = next else {
        return Ok(Handled::Idle);
    };
    tracing::Span::current().record("request.id", next.id);
    let client = ClientInfo {
        ip: next.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: next.user_agent.clone(),
    };
    let handled = take(&mut tx, state, &client, &next).await;
    let error = match handled {
        Ok(()) => {
            tx.commit().await.context("commit a reset request")?;
            return Ok(Handled::One);
        }
        Err(error) => error,
    };
    // Rolled back: the row is there again, for a later try, or dropped after its last.
    tx.rollback()
        .await
        .context("roll back a failed reset request")?;
    let given_up = next.attempts + 1 >= MAX_REQUEST_ATTEMPTS;
    let statement = if given_up {
        "delete from password_reset_requests where id = $1"
    } else {
        "update password_reset_requests
         set attempts = attempts + 1, not_before = now() + make_interval(secs => 2 ^ attempts)
         where id = $1"
    };
    sqlx::query(statement)
        .bind(next.id)
        .execute(&state.pool)
        .await
        .context("put a failed reset request back")?;
    if given_up {
        tracing::error!(
            attempts = next.attempts + 1,
            "reset request dropped after its tries"
        );
    }
    Err(error)
}

/// Removes the request and does what it asks, in the caller's transaction.
async fn take(
    tx: &mut PgConnection,
    state: &AppState,
    client: &ClientInfo,
    request: &Request,
) -> Result<(), ApiError> {
    sqlx::query("delete from password_reset_requests where id = $1")
        .bind(request.id)
        .execute(&mut *tx)
        .await
        .context("take a reset request")?;
    let language = request.language.unwrap_or_default();
    match send_code(tx, state, (client, language), &request.email).await {
        // Too soon after the last code, or too many this hour: this request sends nothing.
        Err(e) if e.error == crate::error::ErrorCode::ResendTooSoon => {
            tracing::info!("reset code not sent: one went out moments ago");
            Ok(())
        }
        other => other,
    }
}

#[derive(sqlx::FromRow)]
struct Account {
    id: Uuid,
    email: String,
    first_name: String,
    language: Option<Locale>,
}

/// The active account that has `email`, locked for the transaction.
async fn active_account(conn: &mut PgConnection, email: &str) -> Result<Option<Account>, ApiError> {
    sqlx::query_as(
        "select id, email, first_name, language from users
         where lower(email) = lower($1) and status = $2 for update",
    )
    .bind(codes::storable(email))
    .bind(AccountStatus::Active)
    .fetch_optional(conn)
    .await
    .context("find the account to reset")
}

/// Issues a reset code for `email` and mails it when an active account has that address.
async fn send_code(
    tx: &mut PgConnection,
    state: &AppState,
    (client, request_language): (&ClientInfo, Locale),
    email: &str,
) -> Result<(), ApiError> {
    let settings = &state.settings;
    let slot = Slot::password_reset(email);
    let account = active_account(&mut *tx, email).await?;
    codes::pace(&mut *tx, &settings.codes, &slot).await?;
    let issued = codes::issue(
        &mut *tx,
        &settings.codes,
        &slot,
        Owner {
            user_id: account.as_ref().map(|a| a.id),
            new_email: None,
        },
    )
    .await?;
    if let Some(account) = &account {
        let language = account.language.unwrap_or(request_language);
        let mut message = mail::code_email(CodeMessage {
            kind: EmailKind::PasswordReset,
            language,
            recipient: &account.email,
            first_name: &account.first_name,
            subject: t_in!(language, mail.reset_subject, code = issued.code),
            purpose: t_in!(language, mail.reset_purpose),
            ignore: t_in!(language, mail.reset_ignore),
            code: &issued.code,
            ttl: Purpose::PasswordReset.ttl(&settings.codes),
        })?;
        message.expires_at = Some(issued.expires_at);
        mail::enqueue(&mut *tx, Some(account.id), &message).await?;
        events::record(&mut *tx, account.id, EventKind::CodeSent, client).await?;
    }
    Ok(())
}

/// Wrong reset codes for one address, over all its codes: the cap the takeover bound rests on.
struct WrongCodes {
    key: String,
}

impl WrongCodes {
    fn of(slot: &Slot) -> Self {
        Self {
            key: format!("reset:wrong:{}", slot.subject()),
        }
    }

    async fn blocked_for(
        &self,
        conn: &mut PgConnection,
        limits: &LimitSettings,
    ) -> Result<Option<u64>, ApiError> {
        let decision = rate_limit::peek(conn, &self.key, limits.reset_failures_per_day, DAY)
            .await
            .context("peek at wrong reset codes")?;
        Ok(match decision {
            rate_limit::Decision::Limited { retry_after } => Some(retry_after),
            rate_limit::Decision::Allowed => None,
        })
    }

    /// Counts a wrong code; `true` when it used up what is left for now.
    async fn count(
        &self,
        conn: &mut PgConnection,
        limits: &LimitSettings,
    ) -> Result<bool, ApiError> {
        rate_limit::check(conn, &self.key, limits.reset_failures_per_day, DAY)
            .await
            .context("count a wrong reset code")?;
        Ok(self.blocked_for(conn, limits).await?.is_some())
    }
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
    let code = VerificationCode::parse(code, Some(settings.codes.reset_length))
        .map_err(|e| ApiError::field("code", e))?;
    let new_password =
        Password::parse(new_password.expose()).map_err(|e| ApiError::field("new_password", e))?;
    {
        let mut conn = state.pool.acquire().await.context("acquire a connection")?;
        limit_network(&mut conn, settings, client, "attempt").await?;
    }
    // Hashed before the code's row is locked: no lock or pooled connection waits for a hashing
    // slot. Every try costs one hash, known address or not, so timing tells nothing either.
    let hash = state.hasher.hash(&new_password).await?;

    let mut tx = state.pool.begin().await.context("begin a reset")?;
    // Tries at one address are judged one at a time, so parallel guesses cannot all pass the
    // cap before any is counted.
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("reset:{}", slot.subject()))
        .execute(&mut *tx)
        .await
        .context("queue behind other resets of this address")?;
    let wrong_codes = WrongCodes::of(&slot);
    if let Some(retry_after) = wrong_codes.blocked_for(&mut tx, &settings.limits).await? {
        metrics::rate_limited(LimitKind::ResetPerAddress);
        return Err(too_many_tries(retry_after));
    }
    let matched = match codes::attempt(&mut tx, &settings.codes, &slot, &code).await? {
        Ok(matched) => matched,
        Err(wrong) => {
            if wrong_codes.count(&mut tx, &settings.limits).await? {
                tell_the_owner_once(&mut tx, state, email).await?;
            }
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
    crate::services::second_factor::forget_pending(&mut tx, user_id).await?;
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

/// The cap was just reached: the owner of the address (if an active account has it) hears of
/// it, once a day at most, and learns that their password still works.
async fn tell_the_owner_once(
    tx: &mut PgConnection,
    state: &AppState,
    email: &str,
) -> Result<(), ApiError> {
    let Some(account) = active_account(&mut *tx, email).await? else {
        return Ok(());
    };
    let key = format!("reset:notice:{}", account.id);
    let first = rate_limit::check(&mut *tx, &key, 1, DAY)
        .await
        .context("note the reset notice")?;
    if first != rate_limit::Decision::Allowed {
        return Ok(());
    }
    tracing::warn!(user.id = %account.id, "too many wrong reset codes; the owner is told");
    let limits = &state.settings.limits;
    let language = mail::language_for(account.language);
    let notice = mail::notice_email(
        (EmailKind::ResetAttemptsNotice, language),
        &account.email,
        &account.first_name,
        t_in!(language, mail.reset_attempts_subject),
        &t_in!(
            language,
            mail.reset_attempts_body,
            count = limits.reset_failures_per_day
        ),
        &state.settings.http.link("/login"),
    )?;
    mail::enqueue(&mut *tx, Some(account.id), &notice).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn defaults() -> Settings {
        Settings::from_vars(HashMap::<String, String>::new()).expect("the defaults parse")
    }

    #[test]
    fn the_default_settings_keep_a_30_day_takeover_below_one_in_a_million() {
        let settings = defaults();
        let bound = takeover_bound(
            &settings.codes,
            &settings.limits,
            Duration::from_secs(30 * 24 * 3600),
        );
        // 10 digits and 20 wrong codes a day: 20 + 30 × 20 + 1 = 621 tries in 30 days.
        assert_eq!(settings.codes.reset_length, 10);
        assert_eq!(settings.limits.reset_failures_per_day, 20);
        assert!((bound - 621e-10).abs() < 1e-15, "{bound:e}");
        assert!(bound < 1e-6, "{bound:e}");
    }

    #[test]
    fn the_bound_follows_the_settings() {
        let settings = defaults();
        let month = Duration::from_secs(30 * 24 * 3600);
        let mut codes = settings.codes.clone();
        let mut limits = settings.limits.clone();
        // The seeds' reset: 4 digits and, in effect, 25 tries an hour (5 codes × 5 tries).
        codes.reset_length = 4;
        limits.reset_failures_per_day = 25 * 24;
        let old = takeover_bound(&codes, &limits, Duration::from_secs(24 * 3600));
        assert!(old > 0.05, "the old bound in a day: {old}");
        codes.reset_length = 8;
        limits.reset_failures_per_day = 20;
        let eight = takeover_bound(&codes, &limits, month);
        assert!((eight - 621e-8).abs() < 1e-12, "{eight:e}");
        assert!(eight > 1e-6, "8 digits need a lower cap for the same bound");
    }
}
