//! Passkeys (WebAuthn): adding them to an account, signing in with one alone, and meeting the
//! second step of a password sign-in with one. The WebAuthn checks are in `infra::passkeys`;
//! these are the rules:
//!
//! - A passkey is a second factor: once an account has one, a password sign-in asks for a
//!   second step (a passkey, or the authenticator app or a recovery code if it has them).
//! - Signing in with a passkey alone needs no email and no password: the passkey is two factors
//!   in itself (the device, and the fingerprint, face or PIN that unlocks it; user verification
//!   is required in every ceremony).
//! - Adding one needs the password; removing one needs the password and, when the account has
//!   an authenticator app or recovery codes, a current code. The first factor of an account ends
//!   its other sessions, as the authenticator app's does.
//! - A ceremony lives in Postgres ([`CEREMONY_TTL`]), is used once whatever its outcome, and is
//!   bound to its purpose and account: any replica finishes what another began.
//! - Starting and finishing a sign-in with a passkey count against the per-network limit of
//!   sign-ins; a refused one gives nothing to guess (a signature either checks out or not).
//! - Adding and removing a passkey write a security history entry and email the owner.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::t;
use crate::{
    error::{ApiError, Context as _, ErrorCode},
    infra::{
        client::ClientInfo,
        credentials, events,
        passkeys::{self as webauthn, Refused, RelyingParty, Started},
        second_factor as crypto,
        sessions::{self, Caller},
    },
    model::{
        AccountStatus, EventKind, PasskeyCeremony, PasskeyInfo, PasskeyPurpose, Secret, SessionKind,
    },
    services::{
        account,
        second_factor::{self, Owner},
        sign_in::{self, SignedIn},
    },
    state::AppState,
    t_in,
};

/// How long a ceremony waits for its answer (WebAuthn's recommended timeout).
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
/// Passkeys one account may have.
pub const MAX_PASSKEYS: i64 = 20;
/// Characters in a passkey's name.
const NAME_MAX: usize = 64;

fn relying_party(state: &AppState) -> Result<RelyingParty, ApiError> {
    RelyingParty::new(&state.settings.http).map_err(|why| {
        tracing::debug!(%why, "passkeys are off");
        ApiError::new(
            ErrorCode::PasskeysUnavailable,
            t!(errors.passkeys_unavailable),
        )
    })
}

fn started_failed(e: String) -> ApiError {
    ApiError::internal(e).context("start a WebAuthn ceremony")
}

fn ceremony_over() -> ApiError {
    ApiError::new(ErrorCode::CodeExpired, t!(errors.passkey_ceremony_over))
}

fn invalid_passkey(refused: &Refused) -> ApiError {
    tracing::info!(%refused, "passkey refused");
    ApiError::new(ErrorCode::InvalidPasskey, t!(errors.passkey_not_added)).with_field("credential")
}

fn sign_in_refused(refused: &Refused) -> ApiError {
    tracing::info!(%refused, "passkey sign-in refused");
    ApiError::new(
        ErrorCode::InvalidCredentials,
        t!(errors.passkey_sign_in_failed),
    )
}

/// A passkey's name as typed: trimmed, 1 to 64 characters, no control characters.
fn valid_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", t!(errors.passkey_name_required)));
    }
    if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            t!(errors.passkey_name_too_long, max = NAME_MAX),
        ));
    }
    Ok(name.to_string())
}

/// Stores a ceremony; the token for the browser.
async fn keep(
    conn: &mut PgConnection,
    purpose: PasskeyPurpose,
    user_id: Option<Uuid>,
    challenge_hash: Option<Vec<u8>>,
    started: Started,
) -> Result<PasskeyCeremony, ApiError> {
    let (token, hash) = crypto::new_challenge();
    sqlx::query(
        "insert into webauthn_ceremonies (token_hash, purpose, user_id, challenge_hash, state, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
    )
    .bind(hash)
    .bind(purpose)
    .bind(user_id)
    .bind(challenge_hash)
    .bind(started.state)
    .bind(CEREMONY_TTL.as_secs_f64())
    .execute(conn)
    .await
    .context("keep a WebAuthn ceremony")?;
    let options = serde_json::value::to_raw_value(&started.options)
        .map_err(|e| ApiError::internal(e).context("WebAuthn options as JSON"))?;
    Ok(PasskeyCeremony {
        ceremony: token,
        options,
    })
}

#[derive(sqlx::FromRow)]
struct Ceremony {
    purpose: PasskeyPurpose,
    user_id: Option<Uuid>,
    challenge_hash: Option<Vec<u8>>,
    state: serde_json::Value,
    live: bool,
}

/// Takes a ceremony out (used once, whatever comes next); `None` when there is none or its
/// time is over.
async fn take(conn: &mut PgConnection, token: &str) -> Result<Option<Ceremony>, ApiError> {
    let ceremony: Option<Ceremony> = sqlx::query_as(
        "delete from webauthn_ceremonies where token_hash = $1
         returning purpose, user_id, challenge_hash, state, expires_at > now() as live",
    )
    .bind(crypto::challenge_hash(token))
    .fetch_optional(conn)
    .await
    .context("take a WebAuthn ceremony")?;
    Ok(ceremony.filter(|c| c.live))
}

/// Starts a ceremony: adding a passkey (signed in, with the password), signing in with one, or
/// the second step of the sign-in whose `challenge` is given.
#[tracing::instrument(name = "passkeys.options", skip_all, fields(purpose = ?purpose))]
pub async fn options(
    state: &AppState,
    client: &ClientInfo,
    caller: Option<&Caller>,
    purpose: PasskeyPurpose,
    password: Option<&Secret>,
    challenge: Option<&str>,
) -> Result<PasskeyCeremony, ApiError> {
    let rp = relying_party(state)?;
    match purpose {
        PasskeyPurpose::Register => {
            let caller = caller.ok_or_else(ApiError::unauthenticated)?;
            let password = password.ok_or_else(|| {
                ApiError::invalid("password", t!(errors.passkey_password_required))
            })?;
            let (email, _) =
                account::recheck_password(state, client, caller, password, "password").await?;
            let mut tx = state.pool.begin().await.context("begin a passkey")?;
            let names: (String, String) =
                sqlx::query_as("select first_name, last_name from users where id = $1")
                    .bind(caller.user_id)
                    .fetch_one(&mut *tx)
                    .await
                    .context("load the account's name")?;
            let existing = stored_passkeys(&mut tx, caller.user_id).await?;
            if existing.len() >= usize::try_from(MAX_PASSKEYS).unwrap_or(usize::MAX) {
                return Err(ApiError::invalid(
                    "name",
                    t!(errors.passkeys_at_most, max = MAX_PASSKEYS),
                ));
            }
            let exclude = existing
                .iter()
                .map(|(_, passkey)| passkey.cred_id().clone())
                .collect();
            let started = rp
                .start_registration(
                    caller.user_id,
                    &email,
                    &format!("{} {}", names.0, names.1),
                    exclude,
                )
                .map_err(started_failed)?;
            let options = keep(&mut tx, purpose, Some(caller.user_id), None, started).await?;
            tx.commit().await.context("commit a passkey ceremony")?;
            Ok(options)
        }
        PasskeyPurpose::Login => {
            let mut tx = state
                .pool
                .begin()
                .await
                .context("begin a passkey sign-in")?;
            credentials::limit_network(&mut tx, &state.settings, client).await?;
            let started = rp.start_discoverable().map_err(started_failed)?;
            let options = keep(&mut tx, purpose, None, None, started).await?;
            tx.commit().await.context("commit a passkey ceremony")?;
            Ok(options)
        }
        PasskeyPurpose::SecondFactor => {
            let token = challenge.unwrap_or_default();
            let mut tx = state.pool.begin().await.context("begin a passkey step")?;
            credentials::limit_network(&mut tx, &state.settings, client).await?;
            let user_id: Option<Uuid> = sqlx::query_scalar(
                "select c.user_id from sign_in_challenges c join users u on u.id = c.user_id
                 where c.token_hash = $1 and c.expires_at > now() and u.status = 'active'",
            )
            .bind(crypto::challenge_hash(token))
            .fetch_optional(&mut *tx)
            .await
            .context("find the sign-in challenge")?;
            let Some(user_id) = user_id else {
                return Err(ApiError::new(
                    ErrorCode::CodeExpired,
                    t!(errors.sign_in_expired),
                ));
            };
            let passkeys: Vec<_> = stored_passkeys(&mut tx, user_id)
                .await?
                .into_iter()
                .map(|(_, passkey)| passkey)
                .collect();
            if passkeys.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::NoSecondFactor,
                    t!(errors.no_passkey),
                ));
            }
            let started = rp.start_authentication(&passkeys).map_err(started_failed)?;
            let options = keep(
                &mut tx,
                purpose,
                Some(user_id),
                Some(crypto::challenge_hash(token)),
                started,
            )
            .await?;
            tx.commit().await.context("commit a passkey ceremony")?;
            Ok(options)
        }
    }
}

/// An account's passkeys as stored (row id and credential); a row that does not read back is
/// left out and logged.
async fn stored_passkeys(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<(Uuid, webauthn_rs::prelude::Passkey)>, ApiError> {
    let rows: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(
        "select id, credential from passkeys where user_id = $1 order by created_at",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
    .context("load the passkeys")?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, json)| match webauthn::stored_passkey(json) {
            Ok(passkey) => Some((id, passkey)),
            Err(e) => {
                tracing::error!(passkey.id = %id, error = %e, "a stored passkey does not read");
                None
            }
        })
        .collect())
}

/// Finishes adding a passkey: the credential the browser made for `ceremony`, named `name`.
#[tracing::instrument(name = "passkeys.register", skip_all, fields(user.id = %caller.user_id))]
pub async fn register(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    ceremony: &str,
    credential: &str,
    name: &str,
) -> Result<PasskeyInfo, ApiError> {
    let name = valid_name(name)?;
    let rp = relying_party(state)?;
    let mut tx = state.pool.begin().await.context("begin adding a passkey")?;
    let ceremony = take(&mut tx, ceremony)
        .await?
        .filter(|c| c.purpose == PasskeyPurpose::Register && c.user_id == Some(caller.user_id));
    let Some(ceremony) = ceremony else {
        tx.commit().await.context("commit a used ceremony")?;
        return Err(ceremony_over());
    };
    let passkey = match rp.finish_registration(credential, ceremony.state) {
        Ok(passkey) => passkey,
        Err(refused) => {
            tx.commit().await.context("commit a used ceremony")?;
            return Err(invalid_passkey(&refused));
        }
    };
    let (json, credential_id) = webauthn::to_store(&passkey)
        .map_err(|e| ApiError::internal(e).context("store a passkey"))?;
    let first_factor = !second_factor::factors_of(&mut tx, caller.user_id)
        .await?
        .any();
    let added: Option<PasskeyInfo> = sqlx::query_as(
        "insert into passkeys (user_id, credential_id, name, credential) values ($1, $2, $3, $4)
         on conflict (credential_id) do nothing
         returning id, name, rfc3339(created_at) as created_at, rfc3339(last_used_at) as last_used_at",
    )
    .bind(caller.user_id)
    .bind(&credential_id)
    .bind(&name)
    .bind(json)
    .fetch_optional(&mut *tx)
    .await
    .context("store a passkey")?;
    let Some(added) = added else {
        tx.commit().await.context("commit a used ceremony")?;
        return Err(ApiError::new(
            ErrorCode::InvalidPasskey,
            t!(errors.passkey_already_registered),
        )
        .with_field("credential"));
    };
    if first_factor {
        // As with the authenticator app: from now on every session has passed both steps.
        sessions::end_all(&mut tx, caller.user_id, Some(caller.session_id)).await?;
    }
    events::record(&mut tx, caller.user_id, EventKind::PasskeyAdded, client).await?;
    let owner = second_factor::owner(&mut tx, caller.user_id).await?;
    second_factor::notify(&mut tx, state, &owner, |l| {
        (
            t_in!(l, mail.passkey_added_subject),
            t_in!(l, mail.passkey_added_body, name = name),
        )
    })
    .await?;
    tx.commit().await.context("commit a new passkey")?;
    tracing::info!(passkey.id = %added.passkey_id, "passkey added");
    Ok(added)
}

#[derive(sqlx::FromRow)]
struct Holder {
    passkey_id: Uuid,
    credential: serde_json::Value,
    user_id: Uuid,
    status: AccountStatus,
}

/// Finishes a sign-in with a passkey: a `login` ceremony (the session `as_kind` asks for) or
/// the `second_factor` step of a password sign-in (the session its first step asked for).
#[tracing::instrument(name = "passkeys.sign_in", skip_all, fields(user.id))]
pub async fn sign_in(
    state: &AppState,
    client: &ClientInfo,
    ceremony: &str,
    credential: &str,
    as_kind: SessionKind,
) -> Result<SignedIn, ApiError> {
    let rp = relying_party(state)?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin a passkey sign-in")?;
    credentials::limit_network(&mut tx, &state.settings, client).await?;
    let Some(ceremony) = take(&mut tx, ceremony)
        .await?
        .filter(|c| c.purpose != PasskeyPurpose::Register)
    else {
        tx.commit().await.context("commit a used ceremony")?;
        return Err(ceremony_over());
    };
    let refused = |tx: sqlx::Transaction<'static, sqlx::Postgres>, why: Refused| async move {
        tx.commit().await.context("commit a used ceremony")?;
        Err::<SignedIn, _>(sign_in_refused(&why))
    };
    let assertion = match webauthn::parse_assertion(credential) {
        Ok(assertion) => assertion,
        Err(why) => return refused(tx, why).await,
    };
    let (claimed_user, credential_id) = webauthn::claimed(&assertion);
    // The passkey the answer names, of the account the ceremony is for (a second step) or the
    // one its user handle names (a sign-in without an email).
    let user_id = match (ceremony.purpose, ceremony.user_id, claimed_user) {
        (PasskeyPurpose::SecondFactor, Some(user_id), _) => user_id,
        (PasskeyPurpose::Login, _, Some(user_id)) => user_id,
        _ => {
            let why = Refused::Malformed("no account named".into());
            return refused(tx, why).await;
        }
    };
    tracing::Span::current().record("user.id", tracing::field::display(user_id));
    let holder: Option<Holder> = sqlx::query_as(
        "select p.id as passkey_id, p.credential, p.user_id, u.status
         from passkeys p join users u on u.id = p.user_id
         where p.credential_id = $1 and p.user_id = $2
         for update of p",
    )
    .bind(&credential_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await
    .context("find the passkey")?;
    let Some(holder) = holder else {
        let why = Refused::Malformed("no such passkey".into());
        return refused(tx, why).await;
    };
    let mut passkey = webauthn::stored_passkey(holder.credential)
        .map_err(|e| ApiError::internal(e).context("read a stored passkey"))?;
    let checked = match ceremony.purpose {
        PasskeyPurpose::Login => rp.finish_discoverable(&assertion, ceremony.state, &passkey),
        _ => rp.finish_authentication(&assertion, ceremony.state),
    };
    let result = match checked {
        Ok(result) => result,
        Err(why) => {
            if let Refused::Rejected(
                webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise,
            ) = why
            {
                tracing::warn!(passkey.id = %holder.passkey_id, "a passkey's counter went back: a cloned authenticator?");
            }
            return refused(tx, why).await;
        }
    };
    if holder.status == AccountStatus::Disabled {
        tx.commit().await.context("commit a used ceremony")?;
        return Err(ApiError::account_disabled());
    }
    if holder.status != AccountStatus::Active {
        tx.commit().await.context("commit a used ceremony")?;
        return Err(sign_in_refused(&Refused::Malformed(
            "account not active".into(),
        )));
    }
    passkey.update_credential(&result);
    let (json, _) = webauthn::to_store(&passkey)
        .map_err(|e| ApiError::internal(e).context("store a passkey"))?;
    sqlx::query("update passkeys set credential = $2, last_used_at = now() where id = $1")
        .bind(holder.passkey_id)
        .bind(json)
        .execute(&mut *tx)
        .await
        .context("note the passkey's use")?;
    let kind = match ceremony.challenge_hash {
        Some(challenge_hash) => {
            // The second step of a password sign-in: its challenge ends here, and the session
            // is the one its first step asked for.
            let kind: Option<SessionKind> = sqlx::query_scalar(
                "delete from sign_in_challenges
                 where token_hash = $1 and user_id = $2 and expires_at > now()
                 returning kind",
            )
            .bind(challenge_hash)
            .bind(holder.user_id)
            .fetch_optional(&mut *tx)
            .await
            .context("close the sign-in challenge")?;
            let Some(kind) = kind else {
                tx.commit().await.context("commit a used ceremony")?;
                return Err(ceremony_over());
            };
            kind
        }
        None => as_kind,
    };
    let signed_in = sign_in::open_session(&mut tx, state, client, holder.user_id, kind).await?;
    tx.commit().await.context("commit a passkey sign-in")?;
    tracing::info!(passkey.id = %holder.passkey_id, "signed in with a passkey");
    Ok(signed_in)
}

/// The caller's passkeys, oldest first.
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<PasskeyInfo>, ApiError> {
    sqlx::query_as(
        "select id, name, rfc3339(created_at) as created_at, rfc3339(last_used_at) as last_used_at
         from passkeys where user_id = $1 order by passkeys.created_at, id",
    )
    .bind(caller.user_id)
    .fetch_all(&state.pool)
    .await
    .context("list the passkeys")
}

fn passkey_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text.trim())
        .map_err(|_| ApiError::invalid("passkey_id", t!(errors.not_a_passkey_id)))
}

fn no_such_passkey() -> ApiError {
    ApiError::not_found(t!(errors.no_such_passkey)).with_field("passkey_id")
}

/// Renames one of the caller's passkeys; another person's is not found.
pub async fn rename(
    state: &AppState,
    caller: &Caller,
    id: &str,
    name: &str,
) -> Result<PasskeyInfo, ApiError> {
    let id = passkey_id(id)?;
    let name = valid_name(name)?;
    let renamed: Option<PasskeyInfo> = sqlx::query_as(
        "update passkeys set name = $3 where id = $1 and user_id = $2
         returning id, name, rfc3339(created_at) as created_at, rfc3339(last_used_at) as last_used_at",
    )
    .bind(id)
    .bind(caller.user_id)
    .bind(&name)
    .fetch_optional(&state.pool)
    .await
    .context("rename a passkey")?;
    renamed.ok_or_else(no_such_passkey)
}

/// Removes one of the caller's passkeys: the password and, when the account has an
/// authenticator app or recovery codes, a current code.
#[tracing::instrument(name = "passkeys.remove", skip_all, fields(user.id = %caller.user_id))]
pub async fn remove(
    state: &AppState,
    client: &ClientInfo,
    caller: &Caller,
    id: &str,
    password: &Secret,
    code: Option<&Secret>,
) -> Result<(), ApiError> {
    let id = passkey_id(id)?;
    account::recheck_password(state, client, caller, password, "password").await?;
    let mut tx = state
        .pool
        .begin()
        .await
        .context("begin removing a passkey")?;
    let owner: Owner = second_factor::owner(&mut tx, caller.user_id).await?;
    let name: Option<String> =
        sqlx::query_scalar("select name from passkeys where id = $1 and user_id = $2 for update")
            .bind(id)
            .bind(caller.user_id)
            .fetch_optional(&mut *tx)
            .await
            .context("find the passkey")?;
    let Some(name) = name else {
        return Err(no_such_passkey());
    };
    let factors = second_factor::factors_of(&mut tx, caller.user_id).await?;
    if second_factor::code_needed(factors) {
        let Some(code) = code.filter(|c| !c.expose().trim().is_empty()) else {
            return Err(ApiError::invalid(
                "code",
                t!(errors.second_step_code_required),
            ));
        };
        tx = second_factor::with_current_code(
            tx,
            state,
            client,
            caller.user_id,
            &owner,
            code.expose(),
        )
        .await?;
    }
    sqlx::query("delete from passkeys where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("remove a passkey")?;
    let left = second_factor::factors_of(&mut tx, caller.user_id).await?;
    if !left.any() {
        // Recovery codes go with the last factor.
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(caller.user_id)
            .execute(&mut *tx)
            .await
            .context("remove the recovery codes")?;
    }
    events::record(&mut tx, caller.user_id, EventKind::PasskeyRemoved, client).await?;
    second_factor::notify(&mut tx, state, &owner, |l| {
        let body = if left.any() {
            t_in!(l, mail.passkey_removed_body_others, name = name)
        } else {
            t_in!(l, mail.passkey_removed_body_last, name = name)
        };
        (t_in!(l, mail.passkey_removed_subject), body)
    })
    .await?;
    tx.commit().await.context("commit removing a passkey")?;
    tracing::info!(passkey.id = %id, "passkey removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_short_line() {
        assert_eq!(
            valid_name("  MacBook Touch ID ").ok().as_deref(),
            Some("MacBook Touch ID")
        );
        assert!(valid_name("   ").is_err());
        assert!(valid_name("a\nb").is_err());
        assert!(valid_name(&"x".repeat(NAME_MAX)).is_ok());
        assert!(valid_name(&"x".repeat(NAME_MAX + 1)).is_err());
    }
}
