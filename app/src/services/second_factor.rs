//! Second factors: an authenticator app (TOTP) with its recovery codes, and the second step of
//! a sign-in. The cryptography is in `infra::second_factor`; these are the rules:
//!
//! - Adding a factor needs the password; removing or replacing one needs the password and a
//!   current factor (an authenticator code or a recovery code).
//! - A password that checks out on an account with a second factor opens a challenge (5
//!   minutes, 5 wrong codes), not a session: the first step alone gives no session, no token.
//! - A TOTP code is accepted once: its step is kept in Postgres and only moves forward, so a
//!   replay is refused on every replica.
//! - Wrong second-step codes count toward the password's limits (per address typed and per
//!   network) and toward a cap of their own per account and day
//!   ([`SECOND_STEP_FAILURES_PER_DAY`]), whose first use in a day tells the owner their password
//!   is known. [`guess_bound`] is what that leaves someone who has the password.
//! - Turning a factor on or off, using a recovery code and making a new set each write a
//!   security history entry and email the owner.

use std::time::Duration;

use secrecy::ExposeSecret as _;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::t;
use crate::{
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        client::ClientInfo,
        credentials::FailureCounter,
        events,
        mail::{self, EmailKind},
        metrics::{self, LimitKind},
        rate_limit,
        second_factor::{self as crypto, SecretBox, Totp},
        sessions::{self, Caller},
    },
    language::Locale,
    model::{
        AuthenticatorSetup, EventKind, RecoveryCodeSet, SecondFactorMethod, SecondFactors, Secret,
        SessionKind,
    },
    services::{account, sign_in::SignedIn},
    state::AppState,
    t_in,
};

/// How long a challenge lives.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Wrong codes one challenge allows before it is used up.
pub const CHALLENGE_MAX_FAILURES: i32 = 5;
/// Wrong second-step codes one account allows a day, over all its challenges.
pub const SECOND_STEP_FAILURES_PER_DAY: u32 = 10;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The chance that someone who has the password gets past the authenticator app within
/// `period`, guessing as fast as the cap allows: each guess matches one of the three live codes
/// (the step and one either side) with probability 3 / 10^6, and the cap lets through its burst
/// of [`SECOND_STEP_FAILURES_PER_DAY`], then one per `24 h / cap`, plus the guess that succeeds.
/// Recovery codes (120 bits) add nothing measurable. 30 days: 311 guesses, 9.3e-4.
pub fn guess_bound(period: Duration) -> f64 {
    let per_day = f64::from(SECOND_STEP_FAILURES_PER_DAY);
    let interval = DAY.as_secs_f64() / per_day;
    let guesses = per_day + (period.as_secs_f64() / interval).floor() + 1.0;
    let live_codes = (2 * crypto::TOTP_SKEW + 1) as f64;
    guesses * live_codes / 10f64.powi(crypto::TOTP_DIGITS as i32)
}

fn sealer(state: &AppState) -> SecretBox {
    SecretBox::new(state.settings.codes.key.expose_secret().as_bytes())
}

fn key(state: &AppState) -> &[u8] {
    state.settings.codes.key.expose_secret().as_bytes()
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Which second factors `user_id` has.
pub async fn factors_of(conn: &mut PgConnection, user_id: Uuid) -> Result<SecondFactors, ApiError> {
    static FACTORS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "select {} from users u where u.id = $1",
            crypto::SECOND_FACTOR_COLUMNS
        )
    });
    let factors: Option<SecondFactors> = sqlx::query_as(&FACTORS)
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .context("load the second factors")?;
    Ok(factors.unwrap_or_default())
}

/// Starts setting up an authenticator app: a new secret, pending until [`enable_totp`]
/// confirms a code from it (a second call replaces a pending one).
#[tracing::instrument(name = "second_factor.totp_setup", skip_all, fields(user.id = %caller.user_id))]
pub async fn start_totp(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    password: &Secret,
) -> Result<AuthenticatorSetup, ApiError> {
    let (email, _) = account::recheck_password(state, client, caller, password, "password").await?;
    let secret = crypto::new_totp_secret();
    let totp = Totp::new(secret.clone(), &email);
    let sealed = sealer(state).seal(caller.user_id, &secret);
    let replaced = sqlx::query(
        "insert into totp_factors (user_id, sealed_secret) values ($1, $2)
         on conflict (user_id) do update
             set sealed_secret = excluded.sealed_secret, created_at = now(), last_step = 0
             where totp_factors.enabled_at is null",
    )
    .bind(caller.user_id)
    .bind(&sealed)
    .execute(&state.pool)
    .await
    .context("keep a pending authenticator secret")?
    .rows_affected();
    if replaced == 0 {
        return Err(totp_already_enabled());
    }
    let uri = totp
        .uri()
        .map_err(|e| ApiError::internal(e).context("write the otpauth URI"))?;
    let qr_svg =
        crypto::qr_svg(&uri).map_err(|e| ApiError::internal(e).context("draw a QR code"))?;
    let secret = totp.secret_base32();
    Ok(AuthenticatorSetup {
        secret_grouped: crypto::grouped(&secret),
        secret,
        otpauth_uri: uri,
        qr_svg,
    })
}

fn totp_already_enabled() -> ApiError {
    ApiError::new(
        ErrorCode::TotpAlreadyEnabled,
        t!(errors.totp_already_enabled),
    )
}

#[derive(sqlx::FromRow)]
struct StoredTotp {
    sealed_secret: Vec<u8>,
    enabled: bool,
}

async fn stored_totp(
    conn: &mut PgConnection,
    user_id: Uuid,
    lock: bool,
) -> Result<Option<StoredTotp>, ApiError> {
    let sql = if lock {
        "select sealed_secret, enabled_at is not null as enabled from totp_factors
         where user_id = $1 for update"
    } else {
        "select sealed_secret, enabled_at is not null as enabled from totp_factors
         where user_id = $1"
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .context("load the authenticator secret")
}

fn open_totp(
    state: &AppState,
    user_id: Uuid,
    email: &str,
    stored: &StoredTotp,
) -> Result<Totp, ApiError> {
    let secret = sealer(state)
        .open(user_id, &stored.sealed_secret)
        .ok_or_else(|| {
            ApiError::internal("a sealed authenticator secret did not open (SECRET_KEY changed?)")
        })?;
    Ok(Totp::new(secret, email))
}

/// Moves the account's last accepted step forward to `step`; `false` when `step` is not ahead
/// of it (a replay, here or on another replica).
async fn accept_step(conn: &mut PgConnection, user_id: Uuid, step: u64) -> Result<bool, ApiError> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let moved =
        sqlx::query("update totp_factors set last_step = $2 where user_id = $1 and last_step < $2")
            .bind(user_id)
            .bind(step)
            .execute(conn)
            .await
            .context("accept an authenticator code")?
            .rows_affected();
    Ok(moved == 1)
}

fn wrong_code(attempts_left: Option<u32>) -> ApiError {
    let mut error =
        ApiError::new(ErrorCode::InvalidCode, t!(errors.totp_code_wrong)).with_field("code");
    error.attempts_left = attempts_left;
    error
}

/// Confirms the pending authenticator app with a code from it; the account's recovery codes are
/// made (replacing any) and returned, the only time they are shown.
#[tracing::instrument(name = "second_factor.totp_enable", skip_all, fields(user.id = %caller.user_id))]
pub async fn enable_totp(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    code: &Secret,
) -> Result<RecoveryCodeSet, ApiError> {
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin enabling an authenticator")?;
    let owner = owner(&mut tx, caller.user_id).await?;
    let stored = match stored_totp(&mut tx, caller.user_id, true).await? {
        Some(stored) if stored.enabled => return Err(totp_already_enabled()),
        Some(stored) => stored,
        None => {
            return Err(ApiError::new(
                ErrorCode::TotpNotStarted,
                t!(errors.totp_not_started),
            ));
        }
    };
    let totp = open_totp(state, caller.user_id, &owner.email, &stored)?;
    let Some(step) = totp.matching_step(code.expose(), now_unix()) else {
        return Err(wrong_code(None));
    };
    sqlx::query("update totp_factors set enabled_at = now(), last_step = $2 where user_id = $1")
        .bind(caller.user_id)
        .bind(i64::try_from(step).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .context("enable the authenticator")?;
    let codes = replace_recovery_codes(&mut tx, state, caller.user_id).await?;
    // A session opened with the password alone (perhaps by whoever made this necessary) ends:
    // from now on every session has passed both steps. This one stays.
    sessions::end_all(&mut tx, caller.user_id, Some(caller.session_id)).await?;
    events::record(
        &mut tx,
        caller.user_id,
        EventKind::SecondFactorEnabled,
        client,
    )
    .await?;
    notify(&mut tx, state, &owner, |l| {
        (
            t_in!(l, mail.totp_on_subject),
            t_in!(l, mail.totp_on_body).to_string(),
        )
    })
    .await?;
    tx.commit()
        .await
        .context("commit enabling an authenticator")?;
    tracing::info!("authenticator app enabled");
    Ok(RecoveryCodeSet {
        recovery_codes: codes,
    })
}

/// Turns the authenticator app off (and with it the recovery codes): the password and a current
/// code (from the app, or a recovery code) first.
#[tracing::instrument(name = "second_factor.totp_disable", skip_all, fields(user.id = %caller.user_id))]
pub async fn disable_totp(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    password: &Secret,
    code: &Secret,
) -> Result<(), ApiError> {
    account::recheck_password(state, client, caller, password, "password").await?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin disabling an authenticator")?;
    let owner = owner(&mut tx, caller.user_id).await?;
    let mut tx =
        with_current_code(tx, state, client, caller.user_id, &owner, code.expose()).await?;
    sqlx::query("delete from totp_factors where user_id = $1")
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await
        .context("remove the authenticator")?;
    // The recovery codes go with the last factor: passkeys left keep them.
    let passkeys_left = factors_of(&mut tx, caller.user_id).await?.passkeys > 0;
    if !passkeys_left {
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(caller.user_id)
            .execute(&mut *tx)
            .await
            .context("remove the recovery codes")?;
    }
    events::record(
        &mut tx,
        caller.user_id,
        EventKind::SecondFactorDisabled,
        client,
    )
    .await?;
    notify(&mut tx, state, &owner, |l| {
        if passkeys_left {
            (
                t_in!(l, mail.totp_removed_subject),
                t_in!(l, mail.totp_removed_body).to_string(),
            )
        } else {
            (
                t_in!(l, mail.totp_off_subject),
                t_in!(l, mail.totp_off_body).to_string(),
            )
        }
    })
    .await?;
    tx.commit()
        .await
        .context("commit disabling an authenticator")?;
    tracing::info!("authenticator app disabled");
    Ok(())
}

/// A new set of recovery codes (the old set stops working): replacing a factor, so the password
/// and a current code (from the app, or one of the old recovery codes) first.
#[tracing::instrument(name = "second_factor.recovery_codes", skip_all, fields(user.id = %caller.user_id))]
pub async fn renew_recovery_codes(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    password: &Secret,
    code: &Secret,
) -> Result<RecoveryCodeSet, ApiError> {
    account::recheck_password(state, client, caller, password, "password").await?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin new recovery codes")?;
    let owner = owner(&mut tx, caller.user_id).await?;
    let factors = factors_of(&mut tx, caller.user_id).await?;
    if !factors.any() {
        return Err(ApiError::new(
            ErrorCode::NoSecondFactor,
            t!(errors.recovery_codes_need_factor),
        ));
    }
    if code_needed(factors) {
        tx = with_current_code(tx, state, client, caller.user_id, &owner, code.expose()).await?;
    }
    let codes = replace_recovery_codes(&mut tx, state, caller.user_id).await?;
    events::record(
        &mut tx,
        caller.user_id,
        EventKind::RecoveryCodesRenewed,
        client,
    )
    .await?;
    notify(&mut tx, state, &owner, |l| {
        (
            t_in!(l, mail.recovery_codes_subject),
            t_in!(l, mail.recovery_codes_body).to_string(),
        )
    })
    .await?;
    tx.commit().await.context("commit new recovery codes")?;
    Ok(RecoveryCodeSet {
        recovery_codes: codes,
    })
}

async fn replace_recovery_codes(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
) -> Result<Vec<String>, ApiError> {
    sqlx::query("delete from recovery_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("remove the old recovery codes")?;
    let codes = crypto::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .filter_map(|code| crypto::canonical_recovery_code(code))
        .map(|canonical| crypto::recovery_code_hash(key(state), user_id, &canonical))
        .collect();
    sqlx::query("insert into recovery_codes (user_id, code_hash) select $1, unnest($2::bytea[])")
        .bind(user_id)
        .bind(&hashes)
        .execute(&mut *tx)
        .await
        .context("store the recovery codes")?;
    Ok(codes)
}

#[derive(sqlx::FromRow)]
pub(crate) struct Owner {
    pub email: String,
    pub first_name: String,
    pub language: Option<Locale>,
}

pub(crate) async fn owner(conn: &mut PgConnection, user_id: Uuid) -> Result<Owner, ApiError> {
    sqlx::query_as("select email, first_name, language from users where id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
        .context("load the account")?
        .ok_or_else(ApiError::unauthenticated)
}

/// Tells the owner about a change to their second factors; `texts` gives the subject and body
/// in their language.
pub(crate) async fn notify(
    tx: &mut PgConnection,
    state: &AppState,
    owner: &Owner,
    texts: impl FnOnce(Locale) -> (&'static str, String),
) -> Result<(), ApiError> {
    let language = mail::language_for(owner.language);
    let (subject, body) = texts(language);
    let notice = mail::notice_email(
        (EmailKind::SecondFactorNotice, language),
        &owner.email,
        &owner.first_name,
        subject,
        &body,
        &state.settings.http.link("/login"),
    )?;
    mail::enqueue(&mut *tx, None, &notice).await
}

/// Removes every second factor of `user_id` and any sign-in waiting for its second step, in
/// `tx`; what there was.
pub async fn remove_all(tx: &mut PgConnection, user_id: Uuid) -> Result<SecondFactors, ApiError> {
    let had = factors_of(&mut *tx, user_id).await?;
    for sql in [
        "delete from totp_factors where user_id = $1",
        "delete from recovery_codes where user_id = $1",
        "delete from passkeys where user_id = $1",
        "delete from webauthn_ceremonies where user_id = $1",
        "delete from sign_in_challenges where user_id = $1",
    ] {
        sqlx::query(sql)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .context("remove the second factors")?;
    }
    Ok(had)
}

/// Tells a person an administrator removed their second factors.
pub async fn notify_removed_by_admin(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
) -> Result<(), ApiError> {
    let owner = owner(&mut *tx, user_id).await?;
    notify(tx, state, &owner, |l| {
        (
            t_in!(l, mail.factors_removed_subject),
            t_in!(l, mail.factors_removed_body).to_string(),
        )
    })
    .await
}

/// After a password reset or change: sign-ins waiting for their second step (begun with the old
/// password) end, and the day's count of wrong codes starts again for the new password.
pub async fn forget_pending(tx: &mut PgConnection, user_id: Uuid) -> Result<(), ApiError> {
    sqlx::query("delete from sign_in_challenges where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .context("end the sign-ins waiting for a second step")?;
    rate_limit::reset(&mut *tx, &daily_key(user_id))
        .await
        .context("clear the wrong second-step codes")?;
    Ok(())
}

/// What a code typed as a second factor turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checked {
    /// A code from the authenticator app, of a step not accepted before (now accepted).
    Totp,
    /// An unused recovery code (now used).
    RecoveryCode,
    /// Neither.
    Wrong,
}

/// Checks `code` against the account's factors, using it up when it matches: six digits are
/// read as an authenticator code, anything else as a recovery code.
async fn check_code(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
    code: &str,
) -> Result<Checked, ApiError> {
    // As apps show it ("123 456") or typed loosely: spaces do not count.
    let trimmed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let trimmed = trimmed.as_str();
    if trimmed.len() == crypto::TOTP_DIGITS && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let Some(stored) = stored_totp(&mut *tx, user_id, true).await? else {
            return Ok(Checked::Wrong);
        };
        if !stored.enabled {
            return Ok(Checked::Wrong);
        }
        let totp = open_totp(state, user_id, "", &stored)?;
        return Ok(match totp.matching_step(trimmed, now_unix()) {
            Some(step) if accept_step(&mut *tx, user_id, step).await? => Checked::Totp,
            _ => Checked::Wrong,
        });
    }
    let Some(canonical) = crypto::canonical_recovery_code(trimmed) else {
        return Ok(Checked::Wrong);
    };
    let used = sqlx::query(
        "update recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(user_id)
    .bind(crypto::recovery_code_hash(key(state), user_id, &canonical))
    .execute(&mut *tx)
    .await
    .context("use a recovery code")?
    .rows_affected();
    Ok(if used == 1 {
        Checked::RecoveryCode
    } else {
        Checked::Wrong
    })
}

/// The methods a challenge offers for an account with `factors`.
pub fn methods(factors: SecondFactors) -> Vec<SecondFactorMethod> {
    let mut methods = Vec::new();
    if factors.totp {
        methods.push(SecondFactorMethod::Totp);
    }
    if factors.totp || factors.recovery_codes_left > 0 {
        methods.push(SecondFactorMethod::RecoveryCode);
    }
    if factors.passkeys > 0 {
        methods.push(SecondFactorMethod::Passkey);
    }
    methods
}

/// Whether removing or replacing a factor of an account with `factors` asks for a current code
/// (from the authenticator app, or a recovery code). An account whose only factors are passkeys
/// has no code to give: the password and a session, which a passkey opened, are what it has.
pub fn code_needed(factors: SecondFactors) -> bool {
    factors.totp || factors.recovery_codes_left > 0
}

/// The error a correct password gets on an account with a second factor: a new challenge, and
/// the methods that can meet it.
pub async fn challenge(
    conn: &mut PgConnection,
    user_id: Uuid,
    kind: SessionKind,
) -> Result<ApiError, ApiError> {
    let factors = factors_of(&mut *conn, user_id).await?;
    let (token, hash) = crypto::new_challenge();
    sqlx::query(
        "insert into sign_in_challenges (token_hash, user_id, kind, expires_at)
         values ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(hash)
    .bind(user_id)
    .bind(kind)
    .bind(CHALLENGE_TTL.as_secs_f64())
    .execute(&mut *conn)
    .await
    .context("open a sign-in challenge")?;
    Ok(ApiError::second_factor_required(token, methods(factors)))
}

#[derive(sqlx::FromRow)]
struct OpenChallenge {
    user_id: Uuid,
    kind: SessionKind,
    failures: i32,
    live: bool,
    email: String,
    first_name: String,
    language: Option<Locale>,
}

/// Wrong second-step codes for one account, over all its challenges.
fn daily_key(user_id: Uuid) -> String {
    format!("second_step:wrong:{user_id}")
}

/// Judges `code` as a current second factor of `user_id`, from someone who already gave the
/// password (a sign-in's second step, or a signed-in person turning the factor off or replacing
/// its recovery codes): one at a time per account, under the caps of wrong codes (per address
/// and per day), each wrong code counted, recorded and, at the daily cap, told to the owner.
/// `Ok(Err(invalid_code))` is a wrong code, counted in `tx`: commit it, then answer the error.
/// A recovery code that matched is used up, recorded and told.
async fn judge(
    tx: &mut PgConnection,
    state: &AppState,
    client: &ClientInfo,
    user_id: Uuid,
    owner: &Owner,
    code: &str,
) -> Result<Result<Checked, ApiError>, ApiError> {
    let settings = &state.settings;
    // One judgment per account at a time, over all its challenges and forms: parallel guesses
    // cannot all pass the caps below before any of them is counted.
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("second_step:{user_id}"))
        .execute(&mut *tx)
        .await
        .context("queue behind other second steps of this account")?;
    let failures = FailureCounter::for_email(&owner.email);
    if let Some(retry_after) = failures.blocked_for(&mut *tx, settings).await? {
        metrics::rate_limited(LimitKind::SignInPerEmail);
        return Err(ApiError::too_many_attempts(retry_after));
    }
    let daily = daily_key(user_id);
    if let rate_limit::Decision::Limited { retry_after } =
        rate_limit::peek(&mut *tx, &daily, SECOND_STEP_FAILURES_PER_DAY, DAY)
            .await
            .context("peek at wrong second-step codes")?
    {
        metrics::rate_limited(LimitKind::SecondStepPerAccount);
        return Err(too_many_codes(retry_after));
    }
    let checked = check_code(&mut *tx, state, user_id, code).await?;
    match checked {
        Checked::Wrong => {
            failures.failed(&mut *tx, settings).await?;
            rate_limit::check(&mut *tx, &daily, SECOND_STEP_FAILURES_PER_DAY, DAY)
                .await
                .context("count a wrong second-step code")?;
            if rate_limit::peek(&mut *tx, &daily, SECOND_STEP_FAILURES_PER_DAY, DAY)
                .await
                .context("peek at wrong second-step codes")?
                != rate_limit::Decision::Allowed
            {
                tell_the_owner_once(&mut *tx, state, user_id, owner).await?;
            }
            events::record(&mut *tx, user_id, EventKind::SecondStepFailed, client).await?;
            return Ok(Err(wrong_code(None)));
        }
        Checked::RecoveryCode => {
            events::record(&mut *tx, user_id, EventKind::RecoveryCodeUsed, client).await?;
            let left = factors_of(&mut *tx, user_id).await?.recovery_codes_left;
            notify(&mut *tx, state, owner, |l| {
                let left = u64::from(left);
                (
                    t_in!(l, mail.recovery_code_used_subject),
                    crate::language::plural_in(
                        l,
                        crate::language::k::mail::recovery_code_used_body,
                        left,
                    ),
                )
            })
            .await?;
        }
        Checked::Totp => {}
    }
    failures.clear(&mut *tx).await?;
    Ok(Ok(checked))
}

/// [`judge`] for a form that needs a current code before it changes anything: the transaction
/// to go on with, or the refusal (a wrong code counted and committed first).
pub(crate) async fn with_current_code(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    state: &AppState,
    client: &ClientInfo,
    user_id: Uuid,
    owner: &Owner,
    code: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ApiError> {
    match judge(&mut tx, state, client, user_id, owner, code).await? {
        Ok(_) => Ok(tx),
        Err(wrong) => {
            tx.commit().await.context("commit a wrong code")?;
            Err(wrong)
        }
    }
}

fn too_many_codes(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TooManyAttempts,
        crate::language::plural(crate::language::k::errors::too_many_codes, retry_after),
    )
    .with_retry_after(retry_after.max(1))
}

/// Finishes a sign-in with a second factor: the session (or token) the first step asked for.
#[tracing::instrument(name = "second_factor.second_step", skip_all, fields(user.id))]
pub async fn second_step(
    state: &AppState,
    client: &ClientInfo,
    token: &str,
    code: &Secret,
) -> Result<SignedIn, ApiError> {
    let settings = &state.settings;
    let mut tx = state.pool.begin().await.context("begin a second step")?;
    crate::infra::credentials::limit_network(&mut tx, settings, client).await?;
    let challenge: Option<OpenChallenge> = sqlx::query_as(
        "select c.user_id, c.kind, c.failures, c.expires_at > now() as live,
                u.email, u.first_name, u.language
         from sign_in_challenges c join users u on u.id = c.user_id
         where c.token_hash = $1 and u.status = 'active'
         for update of c",
    )
    .bind(crypto::challenge_hash(token))
    .fetch_optional(&mut *tx)
    .await
    .context("find the sign-in challenge")?;
    let Some(challenge) = challenge else {
        tx.commit().await.context("commit a second step")?;
        return Err(challenge_expired());
    };
    tracing::Span::current().record("user.id", tracing::field::display(challenge.user_id));
    if !challenge.live {
        delete_challenge(&mut tx, token).await?;
        tx.commit().await.context("commit a second step")?;
        return Err(challenge_expired());
    }
    let user_id = challenge.user_id;
    let owner = Owner {
        email: challenge.email.clone(),
        first_name: challenge.first_name.clone(),
        language: challenge.language,
    };
    let checked = match judge(&mut tx, state, client, user_id, &owner, code.expose()).await? {
        Ok(checked) => checked,
        Err(_) => {
            let failed = challenge.failures + 1;
            let error = if failed >= CHALLENGE_MAX_FAILURES {
                delete_challenge(&mut tx, token).await?;
                ApiError::new(ErrorCode::CodeUsedUp, t!(errors.challenge_used_up))
            } else {
                sqlx::query("update sign_in_challenges set failures = $2 where token_hash = $1")
                    .bind(crypto::challenge_hash(token))
                    .bind(failed)
                    .execute(&mut *tx)
                    .await
                    .context("count a wrong code")?;
                wrong_code(Some(
                    u32::try_from(CHALLENGE_MAX_FAILURES - failed).unwrap_or(0),
                ))
            };
            tx.commit().await.context("commit a wrong code")?;
            return Err(error);
        }
    };
    delete_challenge(&mut tx, token).await?;
    let signed_in =
        crate::services::sign_in::open_session(&mut tx, state, client, user_id, challenge.kind)
            .await?;
    tx.commit().await.context("commit a second step")?;
    tracing::info!(method = ?checked, "signed in with a second factor");
    Ok(signed_in)
}

fn challenge_expired() -> ApiError {
    ApiError::new(ErrorCode::CodeExpired, t!(errors.sign_in_expired))
}

async fn delete_challenge(tx: &mut PgConnection, token: &str) -> Result<(), ApiError> {
    sqlx::query("delete from sign_in_challenges where token_hash = $1")
        .bind(crypto::challenge_hash(token))
        .execute(&mut *tx)
        .await
        .context("close a sign-in challenge")?;
    Ok(())
}

/// The daily cap was just reached: the owner hears of it, once a day at most; whoever is
/// guessing has their password.
async fn tell_the_owner_once(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: Uuid,
    owner: &Owner,
) -> Result<(), ApiError> {
    let first = rate_limit::check(&mut *tx, &format!("second_step:notice:{user_id}"), 1, DAY)
        .await
        .context("note the second-step notice")?;
    if first != rate_limit::Decision::Allowed {
        return Ok(());
    }
    tracing::warn!(user.id = %user_id, "too many wrong second-step codes; the owner is told");
    notify(tx, state, owner, |l| {
        (
            t_in!(l, mail.second_step_attempts_subject),
            t_in!(
                l,
                mail.second_step_attempts_body,
                count = SECOND_STEP_FAILURES_PER_DAY
            ),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_of_guessing_with_the_password_succeeds_less_than_once_in_a_thousand() {
        let bound = guess_bound(Duration::from_secs(30 * 24 * 3600));
        // 10 at once, then one every 2.4 hours for 30 days, plus the one that succeeds: 311.
        assert!((bound - 311.0 * 3.0 / 1e6).abs() < 1e-12, "{bound}");
        assert!(bound < 1e-3, "{bound}");
        assert!(guess_bound(Duration::from_secs(24 * 3600)) < 1e-4);
    }

    #[test]
    fn challenges_offer_what_the_account_has() {
        let none = SecondFactors::default();
        assert!(methods(none).is_empty());
        let app = SecondFactors {
            totp: true,
            recovery_codes_left: 10,
            passkeys: 0,
        };
        assert_eq!(
            methods(app),
            [SecondFactorMethod::Totp, SecondFactorMethod::RecoveryCode]
        );
        let passkey = SecondFactors {
            passkeys: 2,
            ..none
        };
        assert_eq!(methods(passkey), [SecondFactorMethod::Passkey]);
        assert!(!code_needed(passkey));
        let passkey_and_codes = SecondFactors {
            recovery_codes_left: 3,
            ..passkey
        };
        assert_eq!(
            methods(passkey_and_codes),
            [
                SecondFactorMethod::RecoveryCode,
                SecondFactorMethod::Passkey
            ]
        );
        assert!(code_needed(passkey_and_codes));
    }
}
